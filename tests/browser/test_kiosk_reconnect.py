"""The server restarts under an open kiosk page: the page reconnects by itself and can talk again.

Last of the browser modules (it restarts the shared server, whose worker then warms up again).
"""
from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.kiosk_page import events, kiosk_page, wait_for_event
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_page_reconnects_after_a_server_restart_and_talks_again(kiosk_server: LiveServer, silence_wav: Path) -> None:
    with kiosk_page(kiosk_server, silence_wav) as page:
        wait_for_event(page, "webrtc_connected", 120_000)
        kiosk_server.stop()
        wait_for_event(page, "ws_close", 10_000)
        wait_until(page, "!document.getElementById('notice').hidden", timeout=5_000)
        notice = page.text_content("#notice") or ""
        assert "reconnecting" in notice.lower()
        page.wait_for_timeout(3_000)  # the page keeps retrying (with backoff) while the server is down
        closed = [e for e in events(page) if e["name"] == "ws_close"]
        assert len(closed) >= 2
        restarted_at = page.evaluate("performance.now()")
        kiosk_server.start()
        wait_for_event(page, "ws_open", 30_000, after=restarted_at)
        wait_for_event(page, "webrtc_connected", 240_000, after=restarted_at)
        wait_until(page, "document.getElementById('notice').hidden", timeout=10_000)
        page.fill("#ask-text", "Where is the toilet?")
        page.click("#ask-send")
        wait_until(page, "document.getElementById('caption-avatar').textContent.toLowerCase().includes('restroom')",
                   timeout=240_000)
        t0 = page.evaluate("document.getElementById('avatar-video').currentTime")
        wait_until(page, "(t0) => document.getElementById('avatar-video').currentTime > t0", arg=t0, timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "kiosk-after-restart.png"))
