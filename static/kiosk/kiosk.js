// Kiosk page: one WebSocket for control and signalling, WebRTC media with a WebSocket fallback.
// Audio is the master clock: in fallback mode each frame is drawn when its audio plays.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const strings = JSON.parse($("kiosk-strings").textContent);
  const greetings = JSON.parse($("kiosk-greetings").textContent);
  const metrics = (window.kioskMetrics = { events: [], framesDrawn: 0, mode: null, firstSpeakingFrameAt: null });
  const MIC_THRESHOLD = 0.01; // RMS: speech on the (processed) microphone
  const OUT_THRESHOLD = 0.003; // RMS: the avatar's voice on the way to the speaker
  const PING_EVERY_MS = 10000;
  const STALE_AFTER_MS = 30000; // no message (not even a pong) for this long: the socket is dead
  let language = window.KIOSK.defaultLanguage;
  let ws = null;
  let pc = null;
  let micStream = null;
  let micProblem = ""; // "denied" | "missing" | "failed": customers can only type (the console is told)
  let handoffKey = null; // what the customer is told of their call for staff, until it is over
  let handoffClearTimer = null;
  let reconnectDelay = 500;
  let lastMessageAt = performance.now();
  let mode = null; // "webrtc" | "ws"
  let state = "idle";
  let answerPts = null; // pts of the current answer's first frame, until it is shown
  let answerRtp = null; // over WebRTC: that frame's RTP timestamp, when the worker knows it
  const rtcFramesShown = []; // the last frames WebRTC put on screen: { rtp, at }
  let iceWaiter = null; // resolves the pending request for ICE servers

  const t = (key) => (strings[language] || strings.en || {})[key] || key;
  const mark = (name, extra, at) => metrics.events.push({ name, at: at === undefined ? performance.now() : at, ...extra });
  const onLevelEdge = (name, edge, at) => mark(`${name}_${edge}`, {}, at);

  const idleKey = () => (micProblem ? "idle_typing" : "idle");

  function render() {
    document.body.dataset.state = state;
    document.body.dataset.microphone = micProblem || "ok";
    $("state").textContent = t(state === "idle" ? idleKey() : state);
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

  // What stays on screen when nothing more urgent is said: the call for staff, else a missing microphone.
  function restingNotice() {
    notice(handoffKey ? t(handoffKey) : micProblem ? t("no_microphone") : "");
  }

  // Staff accepted, closed or missed the customer's call (the console's hand-off desk).
  const HANDOFF_KEYS = { open: "staff_requested", accepted: "staff_coming", unavailable: "staff_unavailable",
                         missed: "staff_unavailable", resolved: null };
  function onHandoff(status) {
    if (!(status in HANDOFF_KEYS)) return;
    clearTimeout(handoffClearTimer);
    handoffKey = HANDOFF_KEYS[status];
    restingNotice();
    // An honest "nobody can come" stays long enough to read, then the screen is the next customer's.
    if (handoffKey === "staff_unavailable") handoffClearTimer = setTimeout(() => { handoffKey = null; restingNotice(); }, 30000);
    // Accepted but never marked resolved: after the server's HANDOFF_ACCEPTED_SHOWN_MINUTES (default
    // 10) the next customer must not be told that staff are on the way.
    if (handoffKey === "staff_coming") {
      handoffClearTimer = setTimeout(() => { handoffKey = null; restingNotice(); }, window.KIOSK.handoffShownMinutes * 60000);
    }
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  // ----- control channel ------------------------------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}${window.KIOSK.wsPath}`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { reconnectDelay = 500; lastMessageAt = performance.now(); mark("ws_open"); };
    ws.onmessage = (e) => {
      lastMessageAt = performance.now();
      if (typeof e.data === "string") onEvent(JSON.parse(e.data)); else fallback.onMedia(e.data);
    };
    ws.onclose = (e) => {
      mark("ws_close", { code: e.code });
      if (e.code === 4401) { location.reload(); return; } // unpaired or revoked: show the pairing screen
      if (e.code === 4409) { standAside(); return; } // this kiosk was opened on another screen
      notice(t("reconnecting"));
      teardownMedia();
      // Backoff with jitter, so a restarted server is not hit by every kiosk at the same instant.
      setTimeout(connect, reconnectDelay * (0.75 + Math.random() / 2));
      reconnectDelay = Math.min(reconnectDelay * 2, 10000);
    };
  }

  // Another screen opened this kiosk and took its session over. Reconnecting would take it back and
  // that screen would do the same, for ever: stay off until someone here taps to use this screen.
  function standAside() {
    teardownMedia();
    notice(t("in_use_elsewhere"));
    $("notice").addEventListener("click", () => { notice(""); connect(); }, { once: true });
  }

  // Heartbeat: the server answers each ping; a socket silent for too long is closed and reopened
  // (a dead network path does not always close it). The server likewise drops a silent kiosk.
  setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (performance.now() - lastMessageAt > STALE_AFTER_MS) { mark("ws_stale"); ws.close(); return; }
    send({ type: "ping" });
  }, PING_EVERY_MS);

  // What the page's latency accounting needs of an event; the server's Unix-time stamps become page time.
  function eventDetails(ev) {
    if (ev.type === "state") return { state: ev.state };
    if (ev.type === "flush") return { detect_ms: ev.detect_ms };
    if (ev.type === "answer_frame") return { pts: ev.pts, sent_at: ev.sent_at * 1000 - performance.timeOrigin };
    return {};
  }

  function onEvent(ev) {
    if (ev.type === "pong") return;
    mark(ev.type, eventDetails(ev));
    switch (ev.type) {
      case "session":
        delete document.body.dataset.service;
        showQuality("full");
        if (ev.resumed) { notice(t("reconnected")); setTimeout(restingNotice, 6000); } else restingNotice();
        startMedia();
        break;
      case "state":
        state = ev.state;
        if (state === "thinking") fallback.settle();
        speaker.mute(false); // a new turn, or back to listening: nothing stale is left to play
        attract.update();
        render();
        break;
      case "caption":
        attract.stop();
        if (ev.role === "customer") { $("caption-customer").textContent = ev.text; $("caption-avatar").textContent = ""; }
        else { $("caption-avatar").textContent = ev.text; }
        break;
      case "language": language = ev.language; render(); restingNotice(); break;
      case "answer_frame":
        answerPts = ev.pts;
        answerRtp = ev.rtp_timestamp === undefined ? null : ev.rtp_timestamp;
        markRtcAnswerFrame(); // it may have been shown before this event came over the WebSocket
        break;
      case "flush":
        // Barge-in: silence at once what is already buffered here (the WebRTC jitter buffer, the
        // fallback's scheduled audio); the runtime has already cut its own queues.
        speaker.mute(true);
        fallback.flush();
        mark("playback_flushed");
        break;
      case "resumed": speaker.mute(false); break;
      case "session_reset": resetScreen(); break;
      case "reconnecting": notice(t("reconnecting")); teardownMedia(); break;
      case "handoff_requested": if (!handoffKey || handoffKey === "staff_unavailable") onHandoff("open"); break;
      case "handoff": onHandoff(ev.status); mark("handoff_" + ev.status); break;
      case "error": if (ev.code === "no_worker") notice(t("unavailable")); break;
      case "busy":
        // No avatar worker has room: say so, keep the attract loop going; the server retries by itself.
        document.body.dataset.service = "busy";
        notice(t(ev.question_kept ? "busy_question_kept" : "busy"));
        if (!ev.question_kept) attract.start();
        break;
      case "quality": showQuality(ev.level); break;
      case "rtc_answer": if (pc) pc.setRemoteDescription({ type: "answer", sdp: ev.sdp }); break;
      case "ice_servers": if (iceWaiter) iceWaiter({ iceServers: ev.iceServers, iceTransportPolicy: ev.iceTransportPolicy }); break;
    }
  }

  // Under load the worker sends less video (reduced) or none (voice only): the voice and the
  // captions go on; without video the avatar's photo stands in for it.
  function showQuality(level) {
    document.body.dataset.quality = level;
    const voiceOnly = level === "voice_only";
    $("avatar-video").style.display = voiceOnly ? "none" : "";
    $("avatar-canvas").style.display = voiceOnly ? "none" : "";
    if ($("avatar-still")) $("avatar-still").hidden = !voiceOnly && mode !== null;
  }

  // ----- media -----------------------------------------------------------------------------
  // The microphone, or null when there is none the page may use: then the customer is told to
  // type or call staff, the server is told (the console shows "no microphone"), and the avatar
  // still answers typed questions aloud.
  async function microphone() {
    if (!micStream) {
      try {
        if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new DOMException("no mediaDevices", "NotFoundError");
        micStream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
        });
      } catch (err) {
        const problem = ["NotAllowedError", "SecurityError"].includes(err.name) ? "denied"
          : ["NotFoundError", "OverconstrainedError"].includes(err.name) ? "missing" : "failed";
        mark("microphone_unavailable", { problem, reason: String(err) });
        if (problem !== micProblem) { micProblem = problem; render(); attract.refresh(); }
        send({ type: "microphone", problem });
        restingNotice();
        return null;
      }
    }
    if (micProblem) { micProblem = ""; render(); attract.refresh(); restingNotice(); }
    send({ type: "microphone", problem: "" });
    return micStream;
  }

  async function startMedia() {
    const mic = await microphone();
    if (mode === "ws") { send({ type: "media", mode: "ws" }); return fallback.start(mic); }
    try {
      await startWebRtc(mic);
    } catch (err) {
      mark("webrtc_failed", { reason: String(err) });
      mode = "ws";
      send({ type: "media", mode: "ws" });
      await fallback.start(mic);
    }
  }

  // STUN/TURN servers for one call, asked for over the (authenticated) WebSocket right before it:
  // TURN credentials expire, and a kiosk stays connected for longer than they last.
  function iceConfig() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { iceWaiter = null; reject(new Error("no ICE servers")); }, 3000);
      iceWaiter = (config) => { clearTimeout(timer); iceWaiter = null; resolve(config); };
      send({ type: "ice_servers" });
    });
  }

  async function startWebRtc(mic) {
    if (!window.RTCPeerConnection || new URLSearchParams(location.search).get("media") === "ws") throw new Error("disabled");
    pc = new RTCPeerConnection(await iceConfig());
    rtcFramesShown.length = 0; // a new call's RTP timestamps start from a new random origin
    if (mic) {
      mic.getAudioTracks().forEach((track) => pc.addTrack(track, mic));
      speaker.meterMic(mic);
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" }); // the avatar's voice still comes
    }
    pc.addTransceiver("video", { direction: "recvonly" });
    const video = $("avatar-video");
    pc.ontrack = (e) => {
      if (!video.srcObject) video.srcObject = new MediaStream();
      video.srcObject.addTrack(e.track);
      // The element shows the video; the voice plays through Web Audio, where it can be cut at once.
      video.muted = true;
      if (e.track.kind === "audio") speaker.play(new MediaStream([e.track]));
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
    // A call that drops later (ICE consent lost, network change) is renegotiated over the same
    // WebSocket: the worker replaces its peer, the session and its conversation go on.
    const connection = pc;
    connection.addEventListener("connectionstatechange", () => {
      if (connection !== pc || !["failed", "closed", "disconnected"].includes(connection.connectionState)) return;
      mark("webrtc_lost", { state: connection.connectionState });
      setTimeout(() => {
        if (connection !== pc || connection.connectionState === "connected") return;
        if (!ws || ws.readyState !== WebSocket.OPEN) return; // the socket's reconnect restarts media
        connection.close();
        pc = null;
        $("avatar-video").srcObject = null;
        speaker.stop();
        startMedia();
      }, connection.connectionState === "disconnected" ? 3000 : 200);
    });
    $("avatar-still") && ($("avatar-still").hidden = true);
    if (video.requestVideoFrameCallback) {
      const onFrame = (now, frame) => {
        metrics.framesDrawn += 1;
        if (state === "speaking" && metrics.firstSpeakingFrameAt === null) metrics.firstSpeakingFrameAt = now;
        const hasRtp = Boolean(frame && frame.rtpTimestamp !== undefined);
        if (hasRtp) {
          rtcFramesShown.push({ rtp: frame.rtpTimestamp, at: now });
          if (rtcFramesShown.length > 50) rtcFramesShown.shift();
        }
        if (hasRtp && answerRtp !== null) markRtcAnswerFrame();
        else if (answerPts !== null && KioskMeter.isOn("out")) {
          // No RTP timestamp to go by: the answer's first frame is taken to be the first one shown
          // once its voice is coming out (the browser keeps the two in sync).
          mark("answer_frame_shown", { pts: answerPts }, now);
          answerPts = null;
        }
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
    mark("webrtc_connected");
  }

  // The answer's first frame over WebRTC: the first frame shown whose RTP timestamp is at or after
  // the one the worker gave for it (modulo 2^32: the timestamps wrap).
  function markRtcAnswerFrame() {
    if (answerPts === null || answerRtp === null) return;
    const frame = rtcFramesShown.find((f) => ((f.rtp - answerRtp) >>> 0) < 0x80000000);
    if (!frame) return;
    mark("answer_frame_shown", { pts: answerPts, rtp: frame.rtp }, frame.at);
    answerPts = answerRtp = null;
  }

  // Where the browser holds the avatar's media (for the page's latency accounting): the mean
  // jitter-buffer delay, and for video the decode and processing time, per received track.
  metrics.receiverStats = async () => {
    if (!pc) return {};
    const out = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      const per = (total, count) => (count ? Math.round((1000 * total) / count) : null);
      out[s.kind] = {
        jitterBufferMs: per(s.jitterBufferDelay, s.jitterBufferEmittedCount),
        jitterBufferTargetMs: per(s.jitterBufferTargetDelay, s.jitterBufferEmittedCount),
        decodeMs: per(s.totalDecodeTime, s.framesDecoded),
        processingMs: per(s.totalProcessingDelay, s.framesDecoded || s.jitterBufferEmittedCount),
      };
    });
    return out;
  };

  function teardownMedia() {
    if (pc) { pc.close(); pc = null; }
    const video = $("avatar-video");
    if (video.srcObject) { video.srcObject.getTracks().forEach((track) => track.stop()); video.srcObject = null; }
    speaker.stop();
    fallback.stop();
  }

  // ----- the avatar's voice over WebRTC, and the meters -------------------------------------
  const speaker = (() => {
    let ctx = null, gain = null, source = null, mic = null;
    const context = () => {
      if (!ctx) { ctx = new AudioContext(); gain = ctx.createGain(); gain.connect(ctx.destination); }
      ctx.resume().catch(() => {});
      return ctx;
    };
    return {
      play(stream) {
        if (source) source.disconnect();
        source = context().createMediaStreamSource(stream);
        source.connect(gain);
        KioskMeter.watch("out", gain, OUT_THRESHOLD, onLevelEdge);
      },
      meterMic(stream) {
        if (mic) mic.disconnect();
        mic = context().createMediaStreamSource(stream);
        KioskMeter.watch("mic", mic, MIC_THRESHOLD, onLevelEdge);
      },
      mute(on) {
        if (gain) gain.gain.setValueAtTime(on ? 0 : 1, ctx.currentTime);
        fallback.mute(on);
      },
      stop() {
        if (source) { source.disconnect(); source = null; }
      },
    };
  })();

  // ----- WebSocket media fallback ----------------------------------------------------------
  const fallback = (() => {
    let ctx = null, node = null, source = null, clock = null, out = null;
    const playing = new Set();
    const frames = [];
    const canvas = $("avatar-canvas");
    const g2d = canvas.getContext("2d");

    async function start(mic) {
      metrics.mode = mode = "ws";
      ctx = new AudioContext({ sampleRate: 16000 });
      if (mic) {
        await ctx.audioWorklet.addModule(window.KIOSK.workletUrl || "/static/kiosk/pcm-worklet.js");
        source = ctx.createMediaStreamSource(mic);
        node = new AudioWorkletNode(ctx, "pcm16-sender");
        node.port.onmessage = (e) => ws && ws.readyState === WebSocket.OPEN && ws.send(e.data);
        source.connect(node);
        KioskMeter.watch("mic", source, MIC_THRESHOLD, onLevelEdge);
      }
      out = ctx.createGain();
      out.connect(ctx.destination);
      KioskMeter.watch("out", out, OUT_THRESHOLD, onLevelEdge);
      canvas.hidden = false;
      $("avatar-video").hidden = true;
      $("avatar-still") && ($("avatar-still").hidden = true);
      requestAnimationFrame(draw);
      mark("ws_media_started");
    }

    function stop() {
      flush();
      if (ctx) { ctx.close(); ctx = null; }
      out = null;
    }

    // Media time is anchored to the AudioContext clock `lead` seconds ahead (the jitter buffer).
    // The buffer starts small and grows by a step each time a packet comes too late to play (an
    // underrun: the network or the server stalled), so it settles at what this link needs. It is
    // re-anchored when a packet would play late, or too far ahead: the server's clock and the
    // sound card's drift apart over a day, and the buffer must neither grow nor run dry.
    // Between a question and its answer the avatar is silent: then buffer not needed for a while
    // is given back (a re-anchor in silence is not heard), so the answer starts with the least.
    // A stalled server catches up in a burst, and what the burst brings would wait here as extra
    // delay: while nothing audible is left to play, silence that arrives further ahead than the
    // buffer needs pulls media time back in.
    const SILENT_PEAK = 3; // PCM16: digital silence, or all but
    const MIN_LEAD = 0.04, LEAD_STEP = 0.02, MAX_LEAD = 0.25, SHRINK_AFTER_S = 20;
    let lead = MIN_LEAD, lastUnderrunAt = 0, audibleUntil = 0;
    function when(pts) {
      if (clock === null || pts < clock.pts) clock = { pts, at: ctx.currentTime + lead };
      return clock.at + (pts - clock.pts);
    }

    function schedule(pts, duration, silent) {
      const at = schedulePacket(pts, silent);
      if (!silent) audibleUntil = Math.max(audibleUntil, at + duration);
      return at;
    }

    function schedulePacket(pts, silent) {
      const at = when(pts);
      const now = ctx.currentTime;
      const overbuffered = silent && at - now > lead + LEAD_STEP && audibleUntil <= now + lead;
      if (overbuffered) {
        clock = { pts, at: now + lead };
        metrics.caughtUp = (metrics.caughtUp || 0) + 1;
        return clock.at;
      }
      if (at < now || at - now > MAX_LEAD) {
        if (at < now) {
          lead = Math.min(lead + LEAD_STEP, MAX_LEAD - LEAD_STEP);
          lastUnderrunAt = now;
          mark("fallback_underrun", { lateMs: Math.round((now - at) * 1000), leadMs: Math.round(lead * 1000) });
        }
        clock = { pts, at: now + lead };
        metrics.reanchored = (metrics.reanchored || 0) + 1;
        metrics.leadMs = Math.round(lead * 1000);
        return clock.at;
      }
      return at;
    }

    function settle() {
      if (!ctx || clock === null) return;
      if (ctx.currentTime - lastUnderrunAt > SHRINK_AFTER_S && lead > MIN_LEAD) {
        lead = Math.max(MIN_LEAD, lead - LEAD_STEP);
        metrics.leadMs = Math.round(lead * 1000);
      }
      clock = null;
    }

    function onMedia(buffer) {
      // Media can arrive while start() still awaits the worklet and the microphone: the output
      // node is made last, and until it exists there is nothing to play into.
      if (!ctx || !out) return;
      const view = new DataView(buffer);
      const kind = view.getUint8(0);
      const pts = view.getFloat64(1, true);
      const payload = buffer.slice(9);
      if (kind === 2) {
        const pcm = new Int16Array(payload);
        const audio = ctx.createBuffer(1, pcm.length, 16000);
        const data = audio.getChannelData(0);
        let peak = 0;
        for (let i = 0; i < pcm.length; i++) { data[i] = pcm[i] / 32768; peak = Math.max(peak, Math.abs(pcm[i])); }
        const node = ctx.createBufferSource();
        node.buffer = audio;
        node.connect(out);
        node.onended = () => playing.delete(node);
        playing.add(node);
        node.start(schedule(pts, pcm.length / 16000, peak <= SILENT_PEAK));
      } else if (kind === 1) {
        // Decoded as it arrives, while its audio waits in the jitter buffer: when it is due, it is
        // drawn at once.
        const frame = { pts, bitmap: null, dropped: false };
        createImageBitmap(new Blob([payload], { type: "image/jpeg" })).then((bitmap) => {
          if (frame.dropped) bitmap.close(); else frame.bitmap = bitmap;
        }, () => { frame.dropped = true; });
        frames.push(frame);
        if (frames.length > 50) drop(frames.shift());
      }
    }

    function drop(frame) {
      frame.dropped = true;
      if (frame.bitmap) { frame.bitmap.close(); frame.bitmap = null; }
    }

    function draw() {
      if (!ctx) return;
      const now = ctx.currentTime;
      let due = null;
      // Frames follow the audio clock and never move it (only audio anchors media time). Of the
      // frames due, the latest decoded one is shown; one still decoding is waited for.
      while (frames.length && clock && clock.at + (frames[0].pts - clock.pts) <= now && (frames[0].bitmap || frames[0].dropped)) {
        const next = frames.shift();
        if (next.dropped) continue; // could not be decoded
        if (due) drop(due);
        due = next;
      }
      if (due) { // decoded: the loop takes no other
        const bitmap = due.bitmap;
        if (canvas.width !== bitmap.width) { canvas.width = bitmap.width; canvas.height = bitmap.height; }
        g2d.drawImage(bitmap, 0, 0);
        drop(due);
        metrics.framesDrawn += 1;
        if (state === "speaking" && metrics.firstSpeakingFrameAt === null) metrics.firstSpeakingFrameAt = performance.now();
        if (answerPts !== null && due.pts >= answerPts - 1e-3) { mark("answer_frame_shown", { pts: due.pts }); answerPts = null; }
      }
      requestAnimationFrame(draw);
    }

    // Barge-in: everything buffered is dropped at once.
    function flush() {
      playing.forEach((n) => { try { n.stop(); } catch (e) {} });
      playing.clear();
      frames.forEach(drop);
      frames.length = 0;
      clock = null;
      audibleUntil = 0;
    }

    function mute(on) {
      if (out) out.gain.setValueAtTime(on ? 0 : 1, ctx.currentTime);
    }

    return { start, stop, onMedia, flush, mute, settle };
  })();

  // ----- controls ----------------------------------------------------------------------------
  document.querySelectorAll(".language").forEach((button) =>
    button.addEventListener("click", () => { language = button.dataset.language; render(); send({ type: "language", language }); }));
  $("ask").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("ask-text").value.trim();
    if (text) { attract.stop(); send({ type: "text", text }); $("ask-text").value = ""; }
  });
  $("handoff").addEventListener("click", () => send({ type: "handoff" }));

  // ----- all day: the attract loop, and a clean screen for the next customer ----------------
  const attract = (() => {
    const ATTRACT_EVERY_MS = 5000;
    const languages = [...document.querySelectorAll(".language")].map((b) => b.dataset.language);
    let timer = null, index = 0;
    function show() {
      const code = languages[index % languages.length] || window.KIOSK.defaultLanguage;
      index += 1;
      const caption = $("caption-avatar");
      caption.textContent = greetings[code] || "";
      caption.lang = code === "yue" ? "zh-HK" : code === "zh" ? "zh-CN" : code;
      $("state").textContent = (strings[code] || strings.en || {})[idleKey()] || "";
    }
    return {
      start() {
        if (timer !== null) return;
        document.body.classList.add("attract");
        index = Math.max(0, languages.indexOf(language));
        show();
        timer = setInterval(show, ATTRACT_EVERY_MS);
      },
      stop() {
        if (timer === null) return;
        clearInterval(timer);
        timer = null;
        document.body.classList.remove("attract");
        $("caption-avatar").removeAttribute("lang");
      },
      update() { if (state === "idle") this.start(); else this.stop(); },
      refresh() { if (timer !== null) { index = Math.max(0, index - 1); show(); } }, // the idle words changed
    };
  })();

  function resetScreen() {
    // Inactivity: nothing of the last customer may stay on screen.
    $("caption-customer").textContent = "";
    $("caption-avatar").textContent = "";
    $("ask-text").value = "";
    language = window.KIOSK.defaultLanguage;
    state = "idle";
    render();
    restingNotice(); // a call for staff outlasts the customer's silence
    attract.stop();
    attract.start();
    mark("screen_reset");
  }

  render();
  attract.start();
  connect();
})();
