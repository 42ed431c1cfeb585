"""The Voices page in headless Chromium: a preview never fails silently, and each voice field
suggests its backend's voices for the language. Nothing is saved: the shared demo keeps its voices."""
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM, LiveServer, chromium_args
from tests.browser.test_console_browser import VIEWPORT, log_in, new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]


def test_a_preview_shows_the_error_the_fallback_or_who_spoke(kiosk_server: LiveServer) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        page = new_page(browser, VIEWPORT)
        log_in(page, kiosk_server, "staff", kiosk_server.passwords["staff"])
        page.goto(f"{kiosk_server.url}/console/voices/")
        status = page.locator("#preview-status-yue")
        preview = page.locator("#voice-yue button.play")

        page.select_option("#id_yue-backend", "edge")
        expect(page.locator("#id_yue-voice_name")).to_have_attribute("list", "voices-yue-edge")
        page.fill("#id_yue-voice_name", "zh-HK-NobodyNeural")
        preview.click()
        expect(status).to_have_class("preview-status small error")
        expect(status).to_contain_text("is not in Edge's voice list")

        page.fill("#id_yue-voice_name", "zh-HK-HiuMaanNeural")  # Edge is out of reach from the test machine
        page.select_option("#id_yue-fallback_backend", "espeak")
        page.fill("#id_yue-fallback_voice_name", "yue+m1")
        preview.click()
        expect(status).to_have_class("preview-status small warn")
        expect(status).to_contain_text("The fallback voice spoke instead: espeak/yue+m1")
        expect(status).to_contain_text("edge/zh-HK-HiuMaanNeural")

        page.select_option("#id_yue-backend", "espeak")
        expect(page.locator("#id_yue-voice_name")).to_have_attribute("list", "voices-yue-espeak")
        page.fill("#id_yue-voice_name", "yue")
        preview.click()
        expect(status).to_have_class("preview-status small ok")
        expect(status).to_have_text("Spoken by espeak/yue.")
        page.wait_for_function("document.getElementById('audio-yue').duration > 0.5", timeout=60_000)
        browser.close()
