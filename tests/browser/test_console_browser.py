"""The console in headless Chromium at 1280×800: staff edit an FAQ translation, publish it, and both
the try-it box and the kiosk page answer with the new wording; every screen is screenshotted."""
import re

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, LiveServer, chromium_args
from tests.browser.polling import wait_until

# Setting up the server (migrate, load_demo with its embeddings) alone takes minutes on a busy 2-core machine.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]
NEW_ANSWER = "The restrooms are next to the fountain on Level 7, beside the blue lifts."
VIEWPORT = {"width": 1280, "height": 800}
expect.set_options(timeout=60_000)


def new_page(browser: Browser, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    # The server shares two cores with everything else running on this machine: be patient.
    page.set_default_timeout(120_000)
    page.set_default_navigation_timeout(180_000)
    return page


def log_in(page: Page, server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/console/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    expect(page.locator(".who")).to_contain_text(username, timeout=120_000)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def try_it(page: Page, question: str) -> None:
    page.fill("#id_q", question)
    page.select_option("#id_language", "en")
    page.click(".tryit button[type=submit]")
    page.wait_for_selector("#tryit-results .tryit-result", timeout=60_000)


def test_staff_edit_a_translation_publish_it_and_the_kiosk_answers_with_it(kiosk_server: LiveServer) -> None:
    code = kiosk_server.manage("kiosk_pairing_code", "Lobby kiosk").strip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        page = new_page(browser, VIEWPORT)
        log_in(page, kiosk_server, "staff", kiosk_server.passwords["staff"])
        shot(page, "overview")

        page.goto(f"{kiosk_server.url}/console/faqs/?missing_language=&q=restroom")
        page.click("#faq-table a[href$='/faqs/restrooms/']")
        expect(page.locator("h1")).to_have_text("restrooms")
        page.click("button:has-text('Unpublish')")
        expect(page.locator(".pill.warn")).to_have_text("Draft")
        page.fill("#id_en-answer", NEW_ANSWER)
        page.click("#save")
        expect(page.locator(".message.success")).to_contain_text("Saved")
        try_it(page, "Where is the toilet?")
        assert NEW_ANSWER not in page.inner_text("#tryit-results")  # a draft: the avatar does not use it yet
        page.click("#publish")
        expect(page.locator(".pill.ok").first).to_have_text("Published")
        try_it(page, "Where is the toilet?")
        expect(page.locator("#tryit-results .answer-text")).to_have_text(NEW_ANSWER)
        expect(page.locator("#tryit-results .tryit-result")).to_have_attribute("data-answerable", "true")
        page.click("#tryit-results button.play")
        wait_until(page, "document.getElementById('tryit-audio').duration > 2", timeout=90_000)
        shot(page, "faq-editor")

        page.goto(f"{kiosk_server.url}/console/faqs/restrooms/history/")
        expect(page.locator(".revision ins").first).to_be_visible()
        shot(page, "faq-history")
        page.goto(f"{kiosk_server.url}/console/faqs/?missing_language=ko")
        shot(page, "faq-list")
        page.goto(f"{kiosk_server.url}/console/voices/")
        shot(page, "voices")
        page.goto(f"{kiosk_server.url}/console/kiosks/")
        assert page.title().startswith("Not allowed")  # staff: kiosks are for admins

        kiosk = new_page(browser, {"width": 1080, "height": 1920})
        kiosk.goto(f"{kiosk_server.url}/")
        kiosk.fill("#code", code)
        kiosk.click("button[type=submit]")
        kiosk.wait_for_selector("#ask-text")
        wait_until(kiosk, "window.kioskMetrics.events.some(e => e.name === 'session')", timeout=120_000)
        kiosk.fill("#ask-text", "Where is the toilet?")
        kiosk.click("#ask-send")
        wait_until(kiosk, "document.getElementById('caption-avatar').textContent.includes('fountain on Level 7')",
                   timeout=120_000)
        kiosk.screenshot(path=str(ARTIFACTS / "console-kiosk-answer.png"))
        browser.close()


def test_admin_screens(kiosk_server: LiveServer) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        page = new_page(browser, VIEWPORT)
        log_in(page, kiosk_server, "admin", kiosk_server.env["KIOSK_ADMIN_PASSWORD"])
        page.goto(f"{kiosk_server.url}/console/kiosks/")
        expect(page.locator("#kiosk-table")).to_contain_text("Lobby kiosk")
        shot(page, "kiosks")
        page.click("#kiosk-table a:has-text('Lobby kiosk')")
        shot(page, "kiosk-edit")
        page.click("button:has-text('Generate pairing code')")
        expect(page.locator("#pairing-code")).to_have_text(re.compile(r"^\d{8}$"))
        shot(page, "kiosk-pairing")
        page.goto(f"{kiosk_server.url}/console/avatars/")
        page.click("table.list a:has-text('Astronaut (demo)')")
        expect(page.locator(".avatar-preview .box.mouth")).to_be_visible()
        shot(page, "avatar")
        page.goto(f"{kiosk_server.url}/console/users/")
        expect(page.locator("#user-table")).to_contain_text("supervisor")
        shot(page, "users")
        page.goto(f"{kiosk_server.url}/console/audit/")
        expect(page.locator("table.list")).to_contain_text("kiosk.pairing_code")
        shot(page, "audit")
        page.keyboard.press("Tab")  # the skip link comes first and is visible on focus
        expect(page.locator(".skip-link")).to_be_focused()
        browser.close()
