// Hand-off requests, live over the console's WebSocket: the open count beside "Hand-off desk" on
// every console page; on the desk page the list reloads on each change. A new request beeps (Web
// Audio, no sound file) and shows a browser notification once staff turned them on with a click.
"use strict";
(() => {
  const badge = document.getElementById("handoff-badge");
  if (!badge) return; // not staff: no desk
  const desk = document.getElementById("handoff-pending");
  const live = document.getElementById("handoff-live");
  const alertsButton = document.getElementById("handoff-alerts");
  const ALERTS_KEY = "handoffAlerts";
  const seen = (window.handoffDesk = { events: [], beeps: 0, notifications: 0 }); // read by the browser tests
  let audio = null;
  let reconnectDelay = 1000;
  let refreshing = null, refreshAgain = false;

  const alertsOn = () => localStorage.getItem(ALERTS_KEY) === "1";

  function setCount(count) {
    badge.dataset.count = String(count);
    badge.textContent = String(count);
  }

  function setLive(on) {
    if (live) live.textContent = on ? live.dataset.on : live.dataset.off;
  }

  function showAlertsState() {
    if (!alertsButton) return;
    const on = alertsOn();
    alertsButton.textContent = on ? alertsButton.dataset.on : alertsButton.dataset.off;
    alertsButton.setAttribute("aria-pressed", String(on));
  }

  // Two short tones: loud enough to hear across a desk, short enough not to annoy.
  function beep() {
    try {
      audio = audio || new AudioContext();
      audio.resume().catch(() => {});
      const start = audio.currentTime;
      for (const offset of [0, 0.3]) {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.4, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.22);
        tone.connect(gain).connect(audio.destination);
        tone.start(start + offset);
        tone.stop(start + offset + 0.25);
      }
      seen.beeps += 1;
    } catch (err) {
      console.warn("hand-off beep:", err);
    }
  }

  function notify(ev) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const place = [ev.kiosk, ev.location, ev.venue].filter(Boolean).join(" · ");
      const note = new Notification(badge.dataset.notifyTitle, { body: place, tag: `handoff-${ev.id}` });
      note.onclick = () => { window.focus(); location.href = badge.closest("a").href; };
      seen.notifications += 1;
    } catch (err) {
      console.warn("hand-off notification:", err);
    }
  }

  // The list is rendered by the server (its forms carry the CSRF token): reload it, one fetch at a time.
  async function refreshDesk() {
    if (!desk) return;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = fetch(desk.dataset.fragmentUrl, { headers: { "X-Console-Fragment": "1" }, credentials: "same-origin" });
    try {
      const response = await refreshing;
      if (response.ok) desk.innerHTML = await response.text();
    } catch (err) {
      console.warn("hand-off desk:", err);
    } finally {
      refreshing = null;
      if (refreshAgain) { refreshAgain = false; refreshDesk(); }
    }
  }

  function onMessage(ev) {
    seen.events.push(ev);
    if (typeof ev.open_count === "number") setCount(ev.open_count);
    if (ev.type !== "handoff") return;
    refreshDesk();
    if (ev.status === "open" && alertsOn()) { beep(); notify(ev); }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${badge.dataset.ws}`);
    ws.onopen = () => { reconnectDelay = 1000; setLive(true); refreshDesk(); };
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onclose = (e) => {
      setLive(false);
      if (e.code === 4403) return; // logged out, or not staff: reconnecting would not help
      setTimeout(connect, reconnectDelay * (0.75 + Math.random() / 2));
      reconnectDelay = Math.min(reconnectDelay * 2, 30000);
    };
  }

  // Browsers let a page play sound and ask for notifications only after a click on it.
  if (alertsButton) {
    showAlertsState();
    alertsButton.addEventListener("click", async () => {
      if (alertsOn()) { localStorage.removeItem(ALERTS_KEY); showAlertsState(); return; }
      localStorage.setItem(ALERTS_KEY, "1");
      audio = audio || new AudioContext();
      audio.resume().catch(() => {});
      if ("Notification" in window && Notification.permission === "default") {
        try { await Notification.requestPermission(); } catch (err) { console.warn("notifications:", err); }
      }
      showAlertsState();
    });
  }
  connect();
})();
