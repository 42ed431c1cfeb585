"""A supervisor reviews a real kiosk conversation in headless Chromium and plays the avatar's answer."""
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, LiveServer, chromium_args
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]
QUESTION = "Where can I find a toilet?"


def _ask_on_the_kiosk(page: Page, server: LiveServer) -> None:
    code = server.manage("kiosk_pairing_code", "Lobby kiosk").strip()
    page.goto(f"{server.url}/")
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.wait_for_selector("#caption-avatar")
    page.goto(f"{server.url}/?media=ws")
    wait_until(page, "window.kioskMetrics.events.some(e => e.name === 'session') && window.kioskMetrics.mode",
                           timeout=180_000)
    page.fill("#ask-text", QUESTION)
    page.press("#ask-text", "Enter")
    wait_until(page, "document.getElementById('caption-avatar').textContent.toLowerCase().includes('restroom')", timeout=180_000)
    # The answer clip is saved once the avatar has finished speaking (back to listening).
    wait_until(page, "window.kioskMetrics.firstSpeakingFrameAt !== null"
                           " && document.body.dataset.state !== 'speaking'", timeout=120_000)


def _log_in(page: Page, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/console/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", server.passwords[username])
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{server.url}/console/")


def test_supervisor_opens_the_transcript_and_plays_the_answer(kiosk_server: LiveServer) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        kiosk = browser.new_page(viewport={"width": 1080, "height": 1920})
        _ask_on_the_kiosk(kiosk, kiosk_server)

        staff = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        _log_in(staff, kiosk_server, "staff")
        assert staff.goto(f"{kiosk_server.url}/console/transcripts/").status == 403  # type: ignore[union-attr]

        console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        _log_in(console, kiosk_server, "supervisor")
        console.click("nav >> text=Transcripts")
        console.wait_for_selector("table.transcripts")
        assert QUESTION in (console.text_content("table.transcripts") or "")
        console.screenshot(path=str(ARTIFACTS / "console-transcripts.png"))
        console.click("table.transcripts tbody tr:first-child td:first-child a")
        console.wait_for_selector("ol.turns")
        for _ in range(30):  # the worker writes the clip right after the avatar stops speaking
            if console.query_selector(".clip-answer"):
                break
            console.wait_for_timeout(1000)
            console.reload()
        assert QUESTION in (console.text_content("li.turn.customer .text") or "")
        assert "restroom" in (console.text_content("li.turn.avatar .text") or "").lower()
        console.evaluate("document.querySelector('.clip-answer').play()")
        wait_until(console, "document.querySelector('.clip-answer').currentTime > 0.5", timeout=20_000)
        duration = console.evaluate("document.querySelector('.clip-answer').duration")
        assert duration > 1.0
        console.screenshot(path=str(ARTIFACTS / "console-transcript-detail.png"), full_page=True)

        console.click("nav >> text=Dashboard")
        console.wait_for_selector("svg.chart")
        console.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)
        browser.close()
