"""Users in headless Chromium: an admin invites a user, who opens the mailed link, chooses a password and
logs in; then forgets it and sets a new one through "Forgot your password?". The live server keeps the
embedded default mail backend, the console one: the test reads each mail where it is printed, the
server's log."""

import re
import time
import uuid

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, LiveServer, chromium_args
from tests.browser.test_console_browser import VIEWPORT, log_in, new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]
LINK = re.compile(r"http://127\.0\.0\.1:\d+/console/password/set/[^/\s]+/[^/\s]+/")


def mailed_link(server: LiveServer, since: int, to: str) -> str:
    """The set-password link of the first mail to ``to`` the server printed after byte ``since`` of its log."""
    assert server.log_path is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        printed = server.log_path.read_bytes()[since:].decode(errors="replace")
        mail = printed.partition(f"To: {to}")[2]
        found = LINK.search(mail)
        if found:
            return found.group(0)
        time.sleep(0.5)
    raise AssertionError(f"no mail to {to} in the server's log")


def log_size(server: LiveServer) -> int:
    assert server.log_path is not None
    return server.log_path.stat().st_size


def set_password(page: Page, link: str, password: str) -> None:
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Choose your password")
    page.fill("#id_new_password1", password)
    page.fill("#id_new_password2", password)
    page.click("#password-set")
    expect(page.locator(".message.success")).to_contain_text("Your password is set")


def test_an_invited_user_sets_a_password_logs_in_and_resets_it(kiosk_server: LiveServer) -> None:
    url, name = kiosk_server.url, f"invitee-{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        admin = new_page(browser, VIEWPORT)
        log_in(admin, kiosk_server, "admin", kiosk_server.env["KIOSK_ADMIN_PASSWORD"])
        admin.goto(f"{url}/console/users/")
        admin.click("#invite-user")
        admin.fill("#id_username", name)
        admin.fill("#id_email", email)
        admin.select_option("#id_role", "staff")
        since = log_size(kiosk_server)
        admin.click("#invite")
        expect(admin.locator(".message.success")).to_contain_text(f"{name} invited")
        expect(admin.locator("#user-table")).to_contain_text("Invited")
        shot(admin, "users")

        invitee = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
        invitee.set_default_timeout(120_000)
        set_password(invitee, mailed_link(kiosk_server, since, email), "first-harbour-lantern-7")
        log_in(invitee, kiosk_server, name, "first-harbour-lantern-7")
        invitee.click(".session button[type=submit]")  # log out

        invitee.goto(f"{url}/console/login/")
        invitee.click("#forgot-password")
        invitee.fill("#id_email", email)
        since = log_size(kiosk_server)
        invitee.click("#forgot-form button[type=submit]")
        expect(invitee.locator("#forgot-sent")).to_be_visible()
        link = mailed_link(kiosk_server, since, email)
        set_password(invitee, link, "second-harbour-lantern-8")
        invitee.goto(link)
        expect(invitee.locator("#link-invalid")).to_be_visible()  # a link works once
        log_in(invitee, kiosk_server, name, "second-harbour-lantern-8")

        # The shared server keeps no extra active account: the admin deactivates it.
        admin.goto(f"{url}/console/users/")
        row = admin.locator("#user-table tr", has_text=name)
        row.locator("input[name=active]").uncheck()
        row.locator("button:has-text('Save')").click()
        expect(admin.locator("#user-table tr", has_text=name)).to_contain_text("Deactivated")
        browser.close()
