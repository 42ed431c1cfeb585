"""The kiosk page in headless Chromium: pair, talk through a fake microphone, see the answer."""
import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, LiveServer, chromium_args
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def converse(server: LiveServer, wav: Path, media: str) -> dict[str, object]:
    code = server.manage("kiosk_pairing_code", "Lobby kiosk").strip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(wav))
        page = browser.new_page(viewport={"width": 1080, "height": 1920})
        page.goto(f"{server.url}/")
        page.fill("#code", code)
        page.click("button[type=submit]")
        page.wait_for_selector("#caption-avatar")
        if media == "ws":
            page.goto(f"{server.url}/?media=ws")
        wait_until(page, "document.getElementById('caption-avatar').textContent.toLowerCase().includes('restroom')",
                   timeout=120_000)
        wait_until(page, "window.kioskMetrics.firstSpeakingFrameAt !== null", timeout=30_000)
        if media == "webrtc":
            t0 = page.evaluate("document.getElementById('avatar-video').currentTime")
            page.wait_for_timeout(600)
            video = page.evaluate("(() => { const v = document.getElementById('avatar-video');"
                                  " return {w: v.videoWidth, h: v.videoHeight, t: v.currentTime}; })()")
            assert video["w"] > 0 and video["h"] > 0 and video["t"] > t0
        metrics = page.evaluate("window.kioskMetrics")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"kiosk-{media}.png"))
        customer = page.text_content("#caption-customer") or ""
        browser.close()
    assert "toilet" in customer.lower()
    assert metrics["mode"] == media
    assert metrics["framesDrawn"] > 10
    events = {e["name"] if e["name"] != "state" else f"state:{e['state']}": e["at"] for e in metrics["events"]}
    latency = metrics["firstSpeakingFrameAt"] - events["state:thinking"]
    (ARTIFACTS / f"kiosk-{media}-metrics.json").write_text(json.dumps({"thinking_to_first_answer_frame_ms": latency}))
    return metrics


def test_webrtc_conversation(kiosk_server: LiveServer, question_wav: Path) -> None:
    converse(kiosk_server, question_wav, "webrtc")


def test_websocket_media_fallback_conversation(kiosk_server: LiveServer, question_wav: Path) -> None:
    converse(kiosk_server, question_wav, "ws")
