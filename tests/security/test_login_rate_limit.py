"""Password guessing is throttled per (username, address) at every door that checks passwords."""
import uuid

import pytest
from django.test import Client

from adminconsole.roles import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def username(make_user, settings) -> str:  # type: ignore[no-untyped-def]
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_LOCKOUT_SECONDS = 60
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only: hashing is not tested
    name = f"guard-{uuid.uuid4().hex[:8]}"  # unique: the Redis cache outlives a test run
    make_user(name, Role.STAFF)
    return name


def _login(client: Client, username: str, password: str, address: str = "203.0.113.5"):  # type: ignore[no-untyped-def]
    return client.post("/console/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_right_password_logs_in(client: Client, username: str) -> None:
    response = _login(client, username, TEST_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/console/"


def test_after_too_many_failures_even_the_right_password_is_refused_with_a_clear_message(
    client: Client, username: str
) -> None:
    for _ in range(2):
        response = _login(client, username, "wrong-password-1")
        assert response.status_code == 200 and b"Please enter a correct username" in response.content
    third = _login(client, username, "wrong-password-1")
    assert b"Too many failed logins. Try again later." in third.content  # told at once that it is now locked
    locked = _login(client, username, TEST_PASSWORD)
    assert locked.status_code == 200
    assert b"Too many failed logins. Try again in 1 minute." in locked.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by someone else's guessing.
    assert _login(Client(), username, TEST_PASSWORD, address="198.51.100.7").status_code == 302


def test_the_lock_ends_with_its_window(client: Client, username: str, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr("common.ratelimit._now", lambda: now[0])
    for _ in range(3):
        _login(client, username, "wrong-password-1")
    now[0] += 59
    assert b"Too many failed logins" in _login(client, username, TEST_PASSWORD).content
    now[0] += 2  # the 60 s window has passed
    assert _login(client, username, TEST_PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(client: Client, username: str) -> None:
    for _ in range(2):
        _login(client, username, "wrong-password-1")
    assert _login(client, username, TEST_PASSWORD).status_code == 302
    other = Client()
    for _ in range(2):
        _login(other, username, "wrong-password-1")
    assert _login(other, username, TEST_PASSWORD).status_code == 302


def test_the_rest_api_basic_auth_is_throttled_too(client: Client, username: str) -> None:
    import base64

    def basic(password: str) -> dict[str, str]:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        return {"HTTP_AUTHORIZATION": f"Basic {token}", "REMOTE_ADDR": "203.0.113.9"}

    assert client.get("/api/kb/faqs/", **basic(TEST_PASSWORD)).status_code == 200
    for _ in range(3):
        assert client.get("/api/kb/faqs/", **basic("wrong-password-1")).status_code in (401, 403)
    assert client.get("/api/kb/faqs/", **basic(TEST_PASSWORD)).status_code in (401, 403)
