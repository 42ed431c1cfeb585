"""The kiosk opened on a second screen: the first stands aside (no reconnect loop against the second)
until someone taps it, and then the second stands aside in turn."""
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import LiveServer
from tests.browser.kiosk_page import events, kiosk_page, wait_for_event
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
STAND_ASIDE_WATCH_MS = 8_000  # longer than the page's first reconnect delays (0.5, 1, 2, 4 s)


def opened(page: Page) -> int:
    return sum(1 for e in events(page) if e["name"] == "ws_open")


def test_a_screen_replaced_by_another_stands_aside_until_tapped(kiosk_server: LiveServer, silence_wav: Path) -> None:
    with kiosk_page(kiosk_server, silence_wav) as first:
        wait_for_event(first, "session", 240_000)
        browser = first.context.browser
        assert browser is not None
        other_screen = browser.new_context()
        # The same device token: the same kiosk.
        other_screen.add_cookies([{"name": c["name"], "value": c["value"], "url": kiosk_server.url}
                                  for c in first.context.cookies()])
        second = other_screen.new_page()
        second.goto(kiosk_server.url + "/")
        wait_for_event(second, "session", 120_000)

        wait_until(first, "window.kioskMetrics.events.some((e) => e.name === 'ws_close' && e.code === 4409)",
                                timeout=30_000)
        wait_until(first, "!document.getElementById('notice').hidden", timeout=5_000)
        assert "another screen" in (first.text_content("#notice") or "")
        first_opens = opened(first)
        first.wait_for_timeout(STAND_ASIDE_WATCH_MS)
        assert opened(first) == first_opens  # it did not reconnect to take the kiosk back
        assert not [e for e in events(second) if e["name"] == "ws_close"]  # the second screen kept its connection

        first.click("#notice")  # staff choose this screen after all
        wait_for_event(first, "session", 120_000)
        wait_until(second, "window.kioskMetrics.events.some((e) => e.name === 'ws_close' && e.code === 4409)",
                                 timeout=30_000)
        second_opens = opened(second)
        second.wait_for_timeout(STAND_ASIDE_WATCH_MS)
        assert opened(second) == second_opens
