"""Driving the kiosk page in headless Chromium, and reading what the page measured."""
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, LiveServer, chromium_args

PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}


@contextmanager
def kiosk_page(server: LiveServer, wav: Path | None, media: str = "webrtc",
               viewport: dict[str, int] = PORTRAIT) -> Iterator[Page]:
    """A freshly paired kiosk page; with ``media="ws"`` it uses the WebSocket media fallback."""
    code = server.manage("kiosk_pairing_code", "Lobby kiosk").strip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(wav))
        try:
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            page.goto(f"{server.url}/pair/?code={code}")
            page.click("button[type=submit]")
            page.wait_for_selector("#caption-avatar")
            if media == "ws":
                page.goto(f"{server.url}/?media=ws")
            yield page
        finally:
            browser.close()


def events(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("window.kioskMetrics.events"))


def wait_for_event(page: Page, name: str, timeout_ms: float, after: float = 0.0) -> None:
    page.wait_for_function(
        "([name, after]) => window.kioskMetrics.events.some((e) => e.name === name && e.at > after)",
        arg=[name, after], timeout=timeout_ms,
    )


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
        "import json; from kiosk.models import Conversation; c = Conversation.objects.order_by('-started_at').first(); "
        "print(json.dumps([{'role': t.role, 'text': t.text, 'heard_text': t.heard_text, 'interrupted': t.interrupted, "
        "'complete': t.complete, 'timings': t.timings} for t in c.turns.order_by('index')]))"
    )
    return list(json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1]))
