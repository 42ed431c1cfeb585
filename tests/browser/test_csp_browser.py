"""The Content-Security-Policy in headless Chromium: the kiosk page (WebRTC and the WebSocket fallback),
every console screen, the Django admin and the API docs work under it and the browser reports no violation."""
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, LiveServer, chromium_args
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]
expect.set_options(timeout=120_000)

# Every violation the page sees, whatever its kind (script, style, image, media, connection, worklet).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


class Watched:
    """A page whose CSP violations and script errors are collected across navigations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", lambda message: self._console(message.type, message.text))
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: script error {error}"))

    def _console(self, kind: str, text: str) -> None:
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"{self.page.url}: {text}")

    def goto(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.ok, url
        assert "script-src 'self' 'nonce-" in response.headers.get("content-security-policy", ""), url

    def check(self) -> None:
        """No violation on the page now open (events are per document), nor any reported so far."""
        seen = self.page.evaluate("window.__cspViolations || []")
        self.problems += [f"{self.page.url}: {v}" for v in seen]
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def watched(silence_wav: Path) -> Iterator[Watched]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(silence_wav))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        page.set_default_navigation_timeout(180_000)
        try:
            yield Watched(page)
        finally:
            browser.close()


def ask(watched: Watched, question: str, ready_event: str) -> None:
    """Once the media path is up (the worker has a session), type a question and see the answer with its video."""
    page = watched.page
    wait_until(page, f"window.kioskMetrics.events.some((e) => e.name === '{ready_event}')", timeout=180_000)
    page.fill("#ask-text", question)
    page.click("#ask-send")
    wait_until(page, "document.getElementById('caption-avatar').textContent.toLowerCase().includes('restroom')", timeout=120_000)
    wait_until(page, "window.kioskMetrics.framesDrawn > 10", timeout=120_000)


def test_the_kiosk_page_works_under_the_policy(kiosk_server: LiveServer, watched: Watched) -> None:
    code = kiosk_server.manage("kiosk_pairing_code", "Lobby kiosk").strip()
    page = watched.page
    watched.goto(f"{kiosk_server.url}/pair/?code={code}")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    watched.check()  # the kiosk page as pairing opens it: a blocked script would break it silently
    page.wait_for_selector("#caption-avatar")
    watched.goto(f"{kiosk_server.url}/")  # WebRTC
    ask(watched, "Where is the toilet?", "webrtc_connected")
    assert page.evaluate("window.kioskMetrics.mode") == "webrtc"
    watched.check()
    watched.goto(f"{kiosk_server.url}/?media=ws")  # the fallback: frames as blobs over the WebSocket, an AudioWorklet
    ask(watched, "Where is the toilet?", "ws_media_started")
    assert page.evaluate("window.kioskMetrics.mode") == "ws"
    watched.check()


def test_the_console_and_the_api_docs_work_under_the_policy(kiosk_server: LiveServer, watched: Watched) -> None:
    page, url = watched.page, kiosk_server.url
    watched.goto(f"{url}/console/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", kiosk_server.env["KIOSK_ADMIN_PASSWORD"])
    page.click("button[type=submit]")
    expect(page.locator(".who")).to_contain_text("admin")
    for path in ("/console/", "/console/faqs/", "/console/voices/", "/console/kiosks/", "/console/users/",
                 "/console/audit/", "/console/health/", "/console/dashboard/", "/console/qa/", "/console/qa/flags/",
                 "/console/transcripts/", "/console/transcripts/access-log/", "/console/faqs/import/",
                 "/console/documents/", "/console/faqs/needs-update/", "/console/handoffs/",
                 "/console/users/invite/", "/console/password/change/",
                 "/django-admin/", "/django-admin/auth/user/", "/django-admin/auth/group/add/",
                 "/django-admin/kiosk/venue/"):
        watched.goto(url + path)
        watched.check()
    watched.goto(f"{url}/console/faqs/restrooms/")
    page.fill("#id_q", "Where is the toilet?")
    page.click(".tryit button[type=submit]")
    page.wait_for_selector("#tryit-results .tryit-result")  # console.js fetched the fragment and showed it
    watched.check()
    watched.goto(f"{url}/console/avatars/")
    page.click("table.list a >> nth=0")
    expect(page.locator(".box.face")).to_be_visible()  # the face box, placed by its style attribute
    watched.check()
    watched.goto(f"{url}/console/kiosks/")
    page.click("#kiosk-table a:has-text('Lobby kiosk')")
    watched.check()

    watched.goto(f"{url}/api/docs/")  # Swagger UI from this site: the browser here reaches no CDN
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kiosk Avatar API")
    expect(page.locator(".opblock").first).to_be_visible()
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    watched.check()
    assert re.search(r"/static/drf_spectacular_sidecar/", page.content())
