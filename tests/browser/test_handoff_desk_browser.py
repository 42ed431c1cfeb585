"""The hand-off desk end to end in headless Chromium: a kiosk whose microphone is denied says so (and the
server records it), its customer presses "Talk to staff", the console's desk shows the call live (with
the count, a beep and a notification), staff accept, and the kiosk tells the customer someone is coming."""
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.kiosk_page import kiosk_page, wait_for_event
from tests.browser.polling import wait_until
from tests.browser.test_console_browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]
# The customer blocked the microphone (or the kiosk has none): getUserMedia fails as Chromium's does.
DENIED_MIC = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));"""


def test_a_call_for_staff_reaches_the_desk_live_and_the_kiosk_hears_it_was_accepted(kiosk_server: LiveServer) -> None:
    with kiosk_page(kiosk_server, None, init_script=DENIED_MIC) as kiosk:
        wait_for_event(kiosk, "session", 240_000)
        wait_for_event(kiosk, "microphone_unavailable", 30_000)
        expect(kiosk.locator("#notice")).to_contain_text("microphone is not available", timeout=10_000)
        assert kiosk.get_attribute("body", "data-microphone") == "denied"

        browser = kiosk.context.browser
        assert browser is not None
        console = browser.new_context(permissions=["notifications"], viewport={"width": 1280, "height": 800}).new_page()
        console.set_default_timeout(60_000)
        log_in(console, kiosk_server, "staff", kiosk_server.passwords["staff"])
        console.goto(f"{kiosk_server.url}/console/handoffs/")
        console.click("#handoff-alerts")  # the click that lets the page beep and notify
        expect(console.locator("#handoff-live")).to_contain_text("Live")
        expect(console.locator("#handoff-badge")).to_have_attribute("data-count", "0")

        kiosk.click("#handoff")
        expect(kiosk.locator("#notice")).to_contain_text("A staff member has been called", timeout=30_000)
        request = console.locator(".handoff[data-status='open']")
        expect(request).to_contain_text("Lobby kiosk", timeout=30_000)
        expect(console.locator("#handoff-badge")).to_have_attribute("data-count", "1")
        alerts = wait_until(console, "window.handoffDesk.beeps > 0 && window.handoffDesk.notifications > 0 && window.handoffDesk")
        assert any(e.get("status") == "open" and e.get("kiosk") == "Lobby kiosk" for e in alerts["events"])
        shot(console, "handoff-desk")

        request.locator(".handoff-accept").click()
        expect(console.locator(".message.success")).to_contain_text("someone is coming")
        expect(console.locator(".handoff[data-status='accepted']")).to_contain_text("staff is on the way")
        wait_for_event(kiosk, "handoff_accepted", 30_000)
        expect(kiosk.locator("#notice")).to_contain_text("A staff member is on the way")
        kiosk.screenshot(path=str(ARTIFACTS / "kiosk-handoff-accepted.png"))

        # Staff arrived: resolved clears the kiosk's notice (and leaves the shared kiosk clean for the next test).
        console.locator(".handoff[data-status='accepted'] .handoff-resolve").click()
        wait_for_event(kiosk, "handoff_resolved", 30_000)
        expect(kiosk.locator("#notice")).not_to_contain_text("on the way")

        # Read straight from the server's database: a manage.py process costs seconds on a busy machine.
        database = Path(kiosk_server.env["KIOSK_VAR_DIR"]) / "kiosk.sqlite3"
        with closing(sqlite3.connect(database)) as db:
            stored = db.execute("SELECT microphone FROM kiosk_kiosk WHERE name = 'Lobby kiosk'").fetchone()
        assert stored == ("denied",)
