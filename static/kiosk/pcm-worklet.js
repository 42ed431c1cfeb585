// Runs in a 16 kHz AudioContext: converts the microphone to PCM16 and posts 20 ms per message
// (larger messages would hold the start and end of the customer's speech back by their length).
class Pcm16Sender extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = new Int16Array(320);
    this.filled = 0;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.buffer[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === this.buffer.length) {
        this.port.postMessage(this.buffer.buffer.slice(0));
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor("pcm16-sender", Pcm16Sender);
