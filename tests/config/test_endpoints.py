"""The three doors of a fresh install: kiosk page, console login, API."""
import pytest
from django.test import Client

from common.roles import Role

pytestmark = pytest.mark.django_db


def test_kiosk_page_is_served_and_asks_an_unpaired_browser_to_pair(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b'class="kiosk pairing"' in response.content and b'name="code"' in response.content
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_paired_browser_gets_the_kiosk(client: Client, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from io import StringIO

    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", stdout=StringIO())
    code = StringIO()
    call_command("kiosk_pairing_code", "Lobby kiosk", stdout=code)
    paired = client.post("/pair/", {"code": code.getvalue().strip()})
    assert paired.status_code == 302 and paired.cookies["kiosk_device"]["httponly"]
    page = client.get("/")
    assert b'id="avatar-video"' in page.content and b"kiosk-strings" in page.content
    assert client.get("/kiosk/avatar.png").status_code == 200
    assert client.post("/pair/", {"code": code.getvalue().strip()}).status_code == 400  # used up


def test_console_asks_for_a_login(client: Client) -> None:
    response = client.get("/console/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login/")
    login = client.get(response.headers["Location"])
    assert login.status_code == 200 and b'name="password"' in login.content


def test_console_home_for_staff_but_not_for_a_user_without_role(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("nobody", None)
    client.login(username="nobody", password="correct-horse-battery")
    assert client.get("/console/").status_code == 403
    make_user("alice", Role.STAFF)
    client.login(username="alice", password="correct-horse-battery")
    response = client.get("/console/")
    assert response.status_code == 200 and b"FAQ entries" in response.content


def test_api_root_and_health_answer(client: Client) -> None:
    root = client.get("/api/")
    assert root.status_code == 200 and root.json()["name"] == "Kiosk Avatar API"
    assert client.get("/api/health/").json() == {"status": "ok"}
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"openapi" in schema.content
