// Kiosk page: one WebSocket for control and signalling, WebRTC media with a WebSocket fallback.
// Audio is the master clock: in fallback mode each frame is drawn when its audio plays.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const strings = JSON.parse($("kiosk-strings").textContent);
  const greetings = JSON.parse($("kiosk-greetings").textContent);
  const metrics = (window.kioskMetrics = { events: [], framesDrawn: 0, mode: null, firstSpeakingFrameAt: null });
  let language = window.KIOSK.defaultLanguage;
  let ws = null;
  let pc = null;
  let micStream = null;
  let reconnectDelay = 500;
  let mode = null; // "webrtc" | "ws"
  let state = "idle";

  const t = (key) => (strings[language] || strings.en || {})[key] || key;
  const mark = (name, extra) => metrics.events.push({ name, at: performance.now(), ...extra });

  function render() {
    document.body.dataset.state = state;
    $("state").textContent = t(state);
    $("ask-text").placeholder = t("type_here");
    $("ask-text").setAttribute("aria-label", t("type_here"));
    $("ask-send").textContent = t("send");
    $("handoff").textContent = t("talk_to_staff");
    document.querySelectorAll(".language").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.language === language)));
  }

  function notice(text) {
    $("notice").textContent = text || "";
    $("notice").hidden = !text;
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  // ----- control channel ------------------------------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}${window.KIOSK.wsPath}`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { reconnectDelay = 500; notice(""); mark("ws_open"); };
    ws.onmessage = (e) => (typeof e.data === "string" ? onEvent(JSON.parse(e.data)) : fallback.onMedia(e.data));
    ws.onclose = (e) => {
      mark("ws_close", { code: e.code });
      if (e.code === 4401) { location.reload(); return; } // unpaired or revoked: show the pairing screen
      notice(t("reconnecting"));
      teardownMedia();
      setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 10000);
    };
  }
  setInterval(() => send({ type: "ping" }), 20000);

  function onEvent(ev) {
    mark(ev.type, ev.type === "state" ? { state: ev.state } : {});
    switch (ev.type) {
      case "session": notice(""); startMedia(); break;
      case "state": state = ev.state; render(); break;
      case "caption":
        if (ev.role === "customer") { $("caption-customer").textContent = ev.text; $("caption-avatar").textContent = ""; }
        else { $("caption-avatar").textContent = ev.text; }
        break;
      case "language": language = ev.language; render(); break;
      case "flush": fallback.flush(); mark("playback_stopped"); break;
      case "session_reset":
        $("caption-customer").textContent = ""; $("caption-avatar").textContent = greetings[window.KIOSK.defaultLanguage] || "";
        language = window.KIOSK.defaultLanguage; render(); break;
      case "reconnecting": notice(t("reconnecting")); teardownMedia(); break;
      case "handoff_requested": notice(t("staff_requested")); setTimeout(() => notice(""), 8000); break;
      case "error": if (ev.code === "no_worker") notice(t("unavailable")); break;
      case "rtc_answer": if (pc) pc.setRemoteDescription({ type: "answer", sdp: ev.sdp }); break;
    }
  }

  // ----- media -----------------------------------------------------------------------------
  async function microphone() {
    if (!micStream) {
      micStream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
    }
    return micStream;
  }

  async function startMedia() {
    if (mode === "ws") { send({ type: "media", mode: "ws" }); return fallback.start(); }
    try {
      await startWebRtc();
    } catch (err) {
      mark("webrtc_failed", { reason: String(err) });
      mode = "ws";
      send({ type: "media", mode: "ws" });
      await fallback.start();
    }
  }

  async function startWebRtc() {
    if (!window.RTCPeerConnection || new URLSearchParams(location.search).get("media") === "ws") throw new Error("disabled");
    pc = new RTCPeerConnection({ iceServers: [] });
    const mic = await microphone();
    mic.getAudioTracks().forEach((track) => pc.addTrack(track, mic));
    pc.addTransceiver("video", { direction: "recvonly" });
    const video = $("avatar-video");
    pc.ontrack = (e) => {
      if (!video.srcObject) video.srcObject = new MediaStream();
      video.srcObject.addTrack(e.track);
      video.muted = false;
      video.play().catch(() => {});
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
      setTimeout(resolve, 2000);
    });
    send({ type: "rtc_offer", sdp: pc.localDescription.sdp });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timeout")), 8000);
      pc.addEventListener("connectionstatechange", () => {
        if (pc.connectionState === "connected") { clearTimeout(timer); resolve(); }
        if (pc.connectionState === "failed") { clearTimeout(timer); reject(new Error("failed")); }
      });
    });
    mode = "webrtc";
    metrics.mode = mode;
    $("avatar-still") && ($("avatar-still").hidden = true);
    if (video.requestVideoFrameCallback) {
      const onFrame = (now) => {
        metrics.framesDrawn += 1;
        if (state === "speaking" && metrics.firstSpeakingFrameAt === null) metrics.firstSpeakingFrameAt = now;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
    mark("webrtc_connected");
  }

  function teardownMedia() {
    if (pc) { pc.close(); pc = null; }
    fallback.stop();
  }

  // ----- WebSocket media fallback ----------------------------------------------------------
  const fallback = (() => {
    let ctx = null, node = null, source = null, clock = null;
    const playing = new Set();
    const frames = [];
    let decoding = false;
    const canvas = $("avatar-canvas");
    const g2d = canvas.getContext("2d");

    async function start() {
      metrics.mode = mode = "ws";
      ctx = new AudioContext({ sampleRate: 16000 });
      await ctx.audioWorklet.addModule(window.KIOSK.workletUrl || "/static/kiosk/pcm-worklet.js");
      source = ctx.createMediaStreamSource(await microphone());
      node = new AudioWorkletNode(ctx, "pcm16-sender");
      node.port.onmessage = (e) => ws && ws.readyState === WebSocket.OPEN && ws.send(e.data);
      source.connect(node);
      canvas.hidden = false;
      $("avatar-video").hidden = true;
      $("avatar-still") && ($("avatar-still").hidden = true);
      requestAnimationFrame(draw);
      mark("ws_media_started");
    }

    function stop() {
      flush();
      if (ctx) { ctx.close(); ctx = null; }
    }

    // The first audio packet anchors media time to the AudioContext clock, 150 ms ahead.
    function when(pts) {
      if (clock === null || pts < clock.pts) clock = { pts, at: ctx.currentTime + 0.15 };
      return clock.at + (pts - clock.pts);
    }

    function onMedia(buffer) {
      if (!ctx) return;
      const view = new DataView(buffer);
      const kind = view.getUint8(0);
      const pts = view.getFloat64(1, true);
      const payload = buffer.slice(9);
      if (kind === 2) {
        const pcm = new Int16Array(payload);
        const audio = ctx.createBuffer(1, pcm.length, 16000);
        const data = audio.getChannelData(0);
        for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
        const node = ctx.createBufferSource();
        node.buffer = audio;
        node.connect(ctx.destination);
        node.onended = () => playing.delete(node);
        playing.add(node);
        node.start(Math.max(when(pts), ctx.currentTime));
      } else if (kind === 1) {
        frames.push({ pts, blob: new Blob([payload], { type: "image/jpeg" }) });
        if (frames.length > 50) frames.shift();
      }
    }

    async function draw() {
      if (!ctx) return;
      const now = ctx.currentTime;
      let due = null;
      while (frames.length && clock && when(frames[0].pts) <= now) due = frames.shift();
      if (due && !decoding) {
        decoding = true;
        try {
          const bitmap = await createImageBitmap(due.blob);
          if (canvas.width !== bitmap.width) { canvas.width = bitmap.width; canvas.height = bitmap.height; }
          g2d.drawImage(bitmap, 0, 0);
          metrics.framesDrawn += 1;
          if (state === "speaking" && metrics.firstSpeakingFrameAt === null) metrics.firstSpeakingFrameAt = performance.now();
        } finally { decoding = false; }
      }
      requestAnimationFrame(draw);
    }

    // Barge-in: everything buffered is dropped at once.
    function flush() {
      playing.forEach((n) => { try { n.stop(); } catch (e) {} });
      playing.clear();
      frames.length = 0;
      clock = null;
    }

    return { start, stop, onMedia, flush };
  })();

  // ----- controls ----------------------------------------------------------------------------
  document.querySelectorAll(".language").forEach((button) =>
    button.addEventListener("click", () => { language = button.dataset.language; render(); send({ type: "language", language }); }));
  $("ask").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("ask-text").value.trim();
    if (text) { send({ type: "text", text }); $("ask-text").value = ""; }
  });
  $("handoff").addEventListener("click", () => send({ type: "handoff" }));

  $("caption-avatar").textContent = greetings[language] || "";
  render();
  connect();
})();
