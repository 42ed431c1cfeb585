// Light progressive enhancement for the console; every screen works without it.
"use strict";

// Forms with data-fragment-target load their result into that element instead of a new page.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.fragmentTarget) return;
  const target = document.querySelector(form.dataset.fragmentTarget);
  if (!target) return;
  event.preventDefault();
  const url = new URL(form.action, window.location.href);
  url.search = new URLSearchParams(new FormData(form)).toString();
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  target.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, {headers: {"X-Console-Fragment": "1"}, credentials: "same-origin"});
    target.innerHTML = await response.text();
  } catch (error) {
    target.textContent = String(error);
  } finally {
    target.removeAttribute("aria-busy");
    if (button) button.disabled = false;
  }
});

// Menus marked data-autosubmit (the header's language switch) post their form when changed; the
// form's own button, there for browsers without scripts, is then not needed.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  const form = select.form;
  if (!form) continue;
  for (const button of form.querySelectorAll("[data-autosubmit-button]")) button.hidden = true;
  select.addEventListener("change", () => form.requestSubmit());
}

// Play buttons: <button class="play" data-audio="ID"> plays the <audio id=ID>. With data-src, the
// source is rebuilt first from the button's form (data-prefix: a voice form's fields, as the
// speech endpoint names them), so a preview speaks the voice as it is set now, saved or not.
// With data-status (a voice preview), the speech is fetched first so that nothing fails silently:
// the status element says who spoke, that a fallback stood in and why, or the error itself.
const VOICE_PARAMS = {backend: "backend", voice_name: "voice", rate: "rate", pitch: "pitch",
                      fallback_backend: "fallback_backend", fallback_voice_name: "fallback_voice"};

function previewStatus(status, kind, text) {
  status.className = `preview-status small ${kind}`;
  status.textContent = text;
}

async function previewVoice(audio, src, status) {
  const say = (name) => status.dataset[name] || "";
  previewStatus(status, "muted", say("msgLoading"));
  let response;
  try {
    response = await fetch(src, {credentials: "same-origin"});
  } catch (error) {
    previewStatus(status, "error", `${say("msgFailed")} ${error}`);
    return;
  }
  if (!response.ok) {
    previewStatus(status, "error", `${say("msgFailed")} ${(await response.text()).trim() || response.status}`);
    return;
  }
  if (audio.src.startsWith("blob:")) URL.revokeObjectURL(audio.src);
  audio.src = URL.createObjectURL(await response.blob());
  const spokenBy = response.headers.get("X-Spoken-By") || "";
  const fallback = response.headers.get("X-Voice-Fallback");
  if (fallback) previewStatus(status, "warn", `${say("msgFallback")} ${spokenBy}. ${decodeURIComponent(fallback)}`);
  else previewStatus(status, "ok", `${say("msgSpoken")} ${spokenBy}.`);
  audio.play().catch(() => {});
}

document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button.play") : null;
  if (!button) return;
  const audio = document.getElementById(button.dataset.audio || "");
  if (!(audio instanceof HTMLAudioElement)) return;
  if (button.dataset.src) {
    const src = new URL(button.dataset.src, window.location.href);
    const prefix = button.dataset.prefix;
    if (button.form && prefix) {
      for (const [name, value] of new FormData(button.form)) {
        const param = VOICE_PARAMS[name.slice(prefix.length + 1)];
        if (name.startsWith(`${prefix}-`) && param && typeof value === "string") src.searchParams.set(param, value);
      }
    }
    const status = document.getElementById(button.dataset.status || "");
    if (status) {
      previewVoice(audio, src.toString(), status);
      return;
    }
    audio.src = src.toString();
  }
  audio.currentTime = 0;
  audio.play().catch(() => {});
});

// A voice form's backend select (data-list-for: its voice field) switches the voice suggestions
// to that backend's (the <datalist> data-list-prefix + backend).
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.dataset.listFor) return;
  const input = document.getElementById(select.dataset.listFor);
  if (input) input.setAttribute("list", `${select.dataset.listPrefix || ""}${select.value}`);
});

// Progress bars: <div data-progress-url=...> polls JSON {fraction, stage, status} until done.
for (const bar of document.querySelectorAll("[data-progress-url]")) {
  const fill = bar.querySelector(".progress > span");
  const label = bar.querySelector(".progress-label");
  const poll = async () => {
    const response = await fetch(bar.dataset.progressUrl, {credentials: "same-origin"});
    const state = await response.json();
    if (fill) fill.style.width = `${Math.round(state.fraction * 100)}%`;
    if (label) label.textContent = `${Math.round(state.fraction * 100)}% · ${state.stage}`;
    if (state.status === "ready" || state.status === "failed") window.location.reload();
    else window.setTimeout(poll, 1000);
  };
  poll();
}

// Mouth region: dragging a rectangle over the photo (.avatar-preview[data-mouth-form=ID]) fills
// the form's pixel fields; typing in the fields moves the red box. The fields alone work too.
for (const preview of document.querySelectorAll(".avatar-preview[data-mouth-form]")) {
  const form = document.getElementById(preview.dataset.mouthForm || "");
  const img = preview.querySelector("img");
  const box = preview.querySelector(".box.mouth");
  if (!(form instanceof HTMLFormElement) || !img || !box) continue;
  const fields = ["x1", "y1", "x2", "y2"].map((name) => form.elements.namedItem(name));
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const draw = ([x1, y1, x2, y2]) => {
    if (!img.naturalWidth || !(x2 > x1 && y2 > y1)) return;
    Object.assign(box.style, {left: `${100 * x1 / img.naturalWidth}%`, top: `${100 * y1 / img.naturalHeight}%`,
                              width: `${100 * (x2 - x1) / img.naturalWidth}%`, height: `${100 * (y2 - y1) / img.naturalHeight}%`});
    box.hidden = false;
  };
  const point = (event) => {
    const rect = img.getBoundingClientRect();
    return [Math.round(clamp(event.clientX - rect.left, 0, rect.width) * img.naturalWidth / rect.width),
            Math.round(clamp(event.clientY - rect.top, 0, rect.height) * img.naturalHeight / rect.height)];
  };
  let start = null;
  const drag = (event) => {
    if (!start) return;
    const [x, y] = point(event);
    const values = [Math.min(start[0], x), Math.min(start[1], y), Math.max(start[0], x), Math.max(start[1], y)];
    fields.forEach((field, i) => { field.value = String(values[i]); });
    draw(values);
  };
  preview.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    start = point(event);
    preview.setPointerCapture(event.pointerId);
  });
  preview.addEventListener("pointermove", drag);
  preview.addEventListener("pointerup", (event) => { drag(event); start = null; });
  form.addEventListener("input", () => draw(fields.map((field) => Number(field.value))));
}

// Drop zones: <div class="dropzone" data-dropzone-for=INPUT_ID hidden> is shown when scripts run;
// a file dropped on it becomes the file input's file (the form still posts as without a script).
for (const zone of document.querySelectorAll(".dropzone[data-dropzone-for]")) {
  const input = document.getElementById(zone.dataset.dropzoneFor || "");
  if (!(input instanceof HTMLInputElement)) continue;
  const label = zone.querySelector(".dropzone-file");
  const show = () => { if (label) label.textContent = input.files && input.files.length ? input.files[0].name : ""; };
  zone.hidden = false;
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      show();
    }
  });
  input.addEventListener("change", show);
}
