"""Password guessing is throttled per (username, address) and per address at every door that checks passwords;
behind a trusted proxy the address is the client's, not the proxy's."""
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client

from common.ratelimit import throttle_key, window_clear
from common.roles import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db
ADDRESSES = ["203.0.113.5", "198.51.100.7", "203.0.113.9", "10.0.0.2", "198.51.100.20", "203.0.113.66"]


@pytest.fixture(autouse=True)
def fresh_address_counts() -> Iterator[None]:
    """Per-address counts live in the shared cache (Redis outlives a test): each test starts from zero."""
    def clear() -> None:
        for address in ADDRESSES:
            window_clear(throttle_key("login-address", address))

    clear()
    yield
    clear()


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


def test_one_address_trying_many_usernames_is_locked_out(client: Client, username: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 10
    for index in range(9):  # never the same username twice: the per-username count never reaches 3
        response = _login(client, f"someone-{index}", "wrong-password-1")
        assert response.status_code == 200 and b"Please enter a correct username" in response.content
    assert b"Too many failed logins" in _login(client, "someone-9", "wrong-password-1").content
    locked = _login(client, username, TEST_PASSWORD)
    assert b"Too many failed logins" in locked.content and "_auth_user_id" not in client.session
    assert _login(Client(), username, TEST_PASSWORD, address="198.51.100.7").status_code == 302


def test_a_successful_login_does_not_reset_the_address_count(client: Client, username: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    for round_ in range(2):
        for index in range(2):
            _login(client, f"someone-{round_}-{index}", "wrong-password-1")
        if round_ == 0:
            assert _login(client, username, TEST_PASSWORD).status_code == 302  # one own account...
            client.logout()
    assert b"Too many failed logins" in _login(client, username, TEST_PASSWORD).content  # ...does not buy more guesses


def test_behind_a_trusted_proxy_the_guesser_is_locked_out_not_everyone(username: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def via_proxy(client: Client, password: str, forwarded: str):  # type: ignore[no-untyped-def]
        return client.post("/console/login/", {"username": username, "password": password},
                           REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    attacker = Client()
    for _ in range(3):
        via_proxy(attacker, "wrong-password-1", "203.0.113.66")
    assert b"Too many failed logins" in via_proxy(attacker, TEST_PASSWORD, "203.0.113.66").content
    # A forged header does not get the attacker out: the proxy appends the real address on the right.
    assert b"Too many failed logins" in via_proxy(attacker, TEST_PASSWORD, "198.51.100.20, 203.0.113.66").content
    assert via_proxy(Client(), TEST_PASSWORD, "198.51.100.20").status_code == 302  # the admin, same proxy
