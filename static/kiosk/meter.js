// Audio level meters: when the customer starts and stops talking (the microphone as sent) and
// when the avatar's voice starts and stops coming out of the speaker (after every page-side
// buffer and mute). The page times its own latencies from these edges (window.kioskMetrics).
"use strict";
window.KioskMeter = (() => {
  const POLL_MS = 5;
  const HANGOVER_MS = 300; // a pause shorter than this is inside one utterance
  const meters = new Map();

  function rms(analyser, buffer) {
    analyser.getFloatTimeDomainData(buffer);
    let sum = 0;
    for (let i = 0; i < buffer.length; i++) sum += buffer[i] * buffer[i];
    return Math.sqrt(sum / buffer.length);
  }

  // Watch `node` (an AudioNode); onEdge(name, "on" | "off", at) fires on speech edges. The
  // "off" edge is stamped when the level first fell below the threshold, once the hangover confirms it.
  function watch(name, node, threshold, onEdge) {
    unwatch(name);
    const analyser = node.context.createAnalyser();
    analyser.fftSize = 256; // 5 ms at 48 kHz, 16 ms at 16 kHz
    node.connect(analyser);
    meters.set(name, { analyser, buffer: new Float32Array(analyser.fftSize), threshold, onEdge, on: false, below: null });
  }

  function unwatch(name) {
    const meter = meters.get(name);
    if (meter) { try { meter.analyser.disconnect(); } catch (e) {} meters.delete(name); }
  }

  function poll() {
    const now = performance.now();
    meters.forEach((m, name) => {
      if (m.analyser.context.state === "closed") { meters.delete(name); return; }
      const loud = rms(m.analyser, m.buffer) >= m.threshold;
      if (loud) {
        m.below = null;
        if (!m.on) { m.on = true; m.onEdge(name, "on", now); }
      } else if (m.on) {
        if (m.below === null) m.below = now;
        else if (now - m.below >= HANGOVER_MS) { m.on = false; m.onEdge(name, "off", m.below); }
      }
    });
  }
  setInterval(poll, POLL_MS);

  return { watch, unwatch, isOn: (name) => Boolean(meters.get(name) && meters.get(name).on) };
})();
