"""Driving the kiosk page in headless Chromium, and reading what the page measured."""
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route, sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, LiveServer, chromium_args
from tests.browser.polling import wait_until

PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}


# A microphone the test speaks into on cue: getUserMedia returns a Web Audio stream into which
# window.testMic.say(name) plays a clip served by the test. Chromium's file-backed fake microphone
# plays on a fixed timeline, which a loaded machine's answer latency does not keep to.
CUED_MIC = """
(() => {
  let ctx = null, dest = null;
  const clips = {};
  function graph() {
    if (!ctx) {
      ctx = new AudioContext({ sampleRate: 48000 });
      dest = ctx.createMediaStreamDestination();
      // A room's noise floor (-80 dBFS), never silent: between clips the stream keeps flowing,
      // so the server hears the pause that ends the customer's turn.
      const floor = ctx.createBuffer(1, 48000, 48000);
      const samples = floor.getChannelData(0);
      for (let i = 0; i < samples.length; i++) samples[i] = (Math.random() * 2 - 1) * 1e-4;
      const noise = ctx.createBufferSource();
      noise.buffer = floor;
      noise.loop = true;
      noise.connect(dest);
      noise.start();
    }
    return ctx;
  }
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (!constraints || !constraints.audio) throw new DOMException("audio only", "NotSupportedError");
    graph();
    await ctx.resume();
    return new MediaStream(dest.stream.getAudioTracks());
  };
  window.testMic = {
    async say(name) {
      graph();
      if (!clips[name]) clips[name] = await ctx.decodeAudioData(await (await fetch(`/__mic__/${name}.wav`)).arrayBuffer());
      const source = ctx.createBufferSource();
      source.buffer = clips[name];
      source.connect(dest);
      const ended = new Promise((resolve) => { source.onended = resolve; });
      source.start();
      await ended;
    },
  };
})();
"""


@contextmanager
def kiosk_page(server: LiveServer, wav: Path | None, media: str = "webrtc",
               viewport: dict[str, int] = PORTRAIT, clips: dict[str, Path] | None = None,
               init_script: str = "") -> Iterator[Page]:
    """A freshly paired kiosk page; with ``media="ws"`` it uses the WebSocket media fallback.

    ``wav`` plays through Chromium's fake microphone; with ``clips`` instead, the page's
    microphone is silent until ``say(page, name)``. ``init_script`` runs in the page before its own.
    """
    code = server.manage("kiosk_pairing_code", "Lobby kiosk").strip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(wav))
        try:
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            if init_script:
                page.add_init_script(init_script)
            if clips:
                page.add_init_script(CUED_MIC)
                for name, path in clips.items():
                    page.route(f"**/__mic__/{name}.wav", _serve(path))
            page.goto(f"{server.url}/pair/?code={code}")
            page.click("button[type=submit]")
            page.wait_for_selector("#caption-avatar")
            if media == "ws":
                page.goto(f"{server.url}/?media=ws")
            yield page
        finally:
            browser.close()


def _serve(path: Path) -> Callable[[Route], None]:
    def handler(route: Route) -> None:
        route.fulfill(body=path.read_bytes(), content_type="audio/wav")

    return handler


def say(page: Page, name: str) -> None:
    """Speak clip ``name`` into the page's microphone; returns when it has been played."""
    page.evaluate("(name) => window.testMic.say(name)", name)


def events(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("window.kioskMetrics.events"))


def wait_for_event(page: Page, name: str, timeout_ms: float, after: float = 0.0) -> None:
    wait_until(page, "([name, after]) => window.kioskMetrics.events.some((e) => e.name === name && e.at > after)",
               arg=[name, after], timeout=timeout_ms)


def first(items: list[dict[str, Any]], name: str, after: float = 0.0) -> dict[str, Any] | None:
    return next((e for e in items if e["name"] == name and e["at"] > after), None)


def last_before(items: list[dict[str, Any]], name: str, before: float) -> dict[str, Any] | None:
    found = [e for e in items if e["name"] == name and e["at"] < before]
    return found[-1] if found else None


def record_latency(section: str, values: dict[str, Any]) -> None:
    """Merge ``values`` under ``section`` into test-artifacts/kiosk_latency.json."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "kiosk_latency.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[section] = values
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def latest_turns(server: LiveServer) -> list[dict[str, Any]]:
    """The turns of the kiosk's latest conversation, as the transcript stored them."""
    code = (
        "import json; from conversations.models import Conversation; c = Conversation.objects.order_by('-started_at').first(); "
        "print(json.dumps([{'role': t.role, 'text': t.text, 'heard_text': t.heard_text, 'interrupted': t.interrupted, "
        "'complete': t.complete, 'timings': t.timings, 'qa': [q.scorer for q in t.qa_scores.all()]} "
        "for t in c.turns.order_by('index')]))"
    )
    return list(json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1]))
