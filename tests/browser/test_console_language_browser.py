"""The console's language switch in headless Chromium: choosing a language posts the form (no inline
script, under the page's CSP), the page comes back translated, and the choice holds on the next page."""
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM, LiveServer, chromium_args
from tests.browser.test_console_browser import VIEWPORT, log_in, new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]


def test_switching_the_language_on_the_dashboard_translates_it_and_the_next_pages(kiosk_server: LiveServer) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        page = new_page(browser, VIEWPORT)  # a fresh context: the language cookie ends with it
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        log_in(page, kiosk_server, "supervisor", kiosk_server.passwords["supervisor"])
        page.goto(f"{kiosk_server.url}/console/dashboard/")
        expect(page.locator("h1")).to_have_text("Dashboard")
        expect(page.locator("#language-switch [type=submit]")).to_be_hidden()  # console.js submits on change

        page.select_option("#language-select", "zh-hant")
        expect(page.locator("h1")).to_have_text("儀表板")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hant")
        expect(page).to_have_url(re.compile(r"/console/dashboard/$"))
        expect(page.locator(".sidenav")).to_contain_text("常見問題")
        shot(page, "dashboard-zh-hant")

        page.click(".sidenav a[href='/console/faqs/']")
        expect(page.locator("h1")).to_have_text("常見問題")
        page.select_option("#language-select", "ko")
        expect(page.locator("a.button[href$='/faqs/needs-update/']")).to_have_text("업데이트할 번역")
        page.select_option("#language-select", "en")
        expect(page.locator("h1")).to_have_text("FAQs")
        assert not [text for text in errors if "Content Security Policy" in text], errors
        browser.close()
