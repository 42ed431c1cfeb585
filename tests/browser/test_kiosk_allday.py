"""The kiosk all day: the attract loop, a clean screen after inactivity, portrait and landscape."""
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import ARTIFACTS, IDLE_SECONDS, LiveServer
from tests.browser.kiosk_page import LANDSCAPE, PORTRAIT, kiosk_page, wait_for_event
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
GREETING_START = ("Hello!", "您好", "你好", "こんにちは", "안녕하세요")
REGIONS = ("#avatar-video", "#caption-avatar", "#ask", ".languages", "#handoff")


def boxes(page: Page) -> dict[str, dict[str, float]]:
    result = {}
    for selector in REGIONS:
        box = page.locator(selector).bounding_box()
        assert box is not None, f"{selector} is not shown"
        result[selector] = box
    return result


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


@pytest.mark.parametrize(("name", "viewport"), [("portrait", PORTRAIT), ("landscape", LANDSCAPE)])
def test_layout_fits_the_screen_with_the_attract_loop(kiosk_server: LiveServer, silence_wav: Path, name: str,
                                                     viewport: dict[str, int]) -> None:
    with kiosk_page(kiosk_server, silence_wav, viewport=viewport) as page:
        wait_for_event(page, "webrtc_connected", 120_000)
        wait_until(page, "document.getElementById('avatar-video').videoWidth > 0", timeout=30_000)
        assert page.evaluate("document.body.classList.contains('attract')")
        greeting = page.text_content("#caption-avatar") or ""
        assert greeting.startswith(GREETING_START)
        wait_until(page, "(g) => document.getElementById('caption-avatar').textContent !== g", arg=greeting,
                               timeout=15_000)  # the loop moves on to the next language
        page.screenshot(path=str(ARTIFACTS / f"kiosk-{name}.png"))
        assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        regions = boxes(page)
    for selector, box in regions.items():
        assert box["x"] >= 0 and box["y"] >= 0, selector
        assert box["x"] + box["width"] <= viewport["width"] + 1 and box["y"] + box["height"] <= viewport["height"] + 1, selector
    video = regions["#avatar-video"]
    assert video["width"] >= 0.4 * min(viewport.values()), "the avatar is too small"
    for selector in REGIONS[1:]:
        assert not overlap(video, regions[selector]), f"{selector} covers the avatar"


def test_inactivity_resets_the_screen_for_the_next_customer(kiosk_server: LiveServer, silence_wav: Path) -> None:
    with kiosk_page(kiosk_server, silence_wav) as page:
        wait_for_event(page, "webrtc_connected", 120_000)
        page.fill("#ask-text", "Where is the toilet?")
        page.click("#ask-send")
        assert not page.evaluate("document.body.classList.contains('attract')")
        wait_until(page, "document.getElementById('caption-avatar').textContent.toLowerCase().includes('restroom')",
                   timeout=90_000)
        assert "toilet" in (page.text_content("#caption-customer") or "").lower()
        page.fill("#ask-text", "half-typed question")
        # Nobody speaks for IDLE_SECONDS after the answer: the screen is reset for the next customer.
        wait_for_event(page, "screen_reset", (IDLE_SECONDS + 60) * 1000)
        page.screenshot(path=str(ARTIFACTS / "kiosk-after-inactivity.png"))
        assert page.text_content("#caption-customer") == ""
        assert page.input_value("#ask-text") == ""
        assert "restroom" not in (page.text_content("#caption-avatar") or "").lower()
        assert (page.text_content("#caption-avatar") or "").startswith(GREETING_START)
        assert page.evaluate("document.body.classList.contains('attract')")
        assert page.is_hidden("#notice")
