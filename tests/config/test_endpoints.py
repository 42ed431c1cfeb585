"""The three doors of a fresh install: kiosk page, console login, API."""
import pytest
from django.test import Client

from adminconsole.roles import Role

pytestmark = pytest.mark.django_db


def test_kiosk_page_is_served(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b'class="kiosk"' in response.content
    assert response.headers["X-Frame-Options"] == "DENY"


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
