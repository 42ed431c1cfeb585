"""Users and passwords: admins invite, (de)activate and send password links; everyone changes their own
password; mailed links work once, expire and are throttled; "forgot password" never tells who has an account."""

import ipaddress
import re
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from adminconsole.password_links import LinkKind, password_link_tokens, password_link_url
from adminconsole.users import user_update
from audit.models import AuditEntry
from common.errors import ApplicationError
from common.roles import Role, user_role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "violet-harbour-lantern-42"
LINK = re.compile(r"https?://\S+/console/password/set/\S+/")


@pytest.fixture
def address() -> str:
    """A client address of the test's own: throttle counts live in the shared cache and outlive a test."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture
def anonymous(address: str) -> Client:
    return Client(enforce_csrf_checks=False, REMOTE_ADDR=address)


@pytest.fixture(autouse=True)
def fast_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only: hashing is not tested


def _mailed_link(message: mail.EmailMessage) -> str:
    found = LINK.search(str(message.body))
    assert found, message.body
    return found.group(0)


def _set_password(client: Client, link: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    opened = client.get(link)
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/set-password/")  # token kept out of the URL
    return client.post(opened.headers["Location"], {"new_password1": password, "new_password2": password})


def test_staff_and_supervisors_cannot_manage_users(login: Callable[..., Client]) -> None:
    target = User.objects.create_user("target", email="target@example.com", password=TEST_PASSWORD)
    for role in (Role.STAFF, Role.SUPERVISOR):
        client = login(role)
        assert client.get("/console/users/invite/").status_code == 403
        assert (
            client.post("/console/users/invite/", {"username": "x", "email": "x@example.com", "role": "admin"}).status_code == 403
        )
        assert client.post(f"/console/users/{target.pk}/password-link/").status_code == 403
        assert client.post(f"/console/users/{target.pk}/", {"role": "admin", "active": "on"}).status_code == 403
    assert not mail.outbox and not User.objects.filter(username="x").exists() and user_role(target) is None
    assert login(Role.ADMIN).get("/console/users/invite/").status_code == 200


def test_an_invited_user_sets_a_password_through_the_mailed_link_once(login: Callable[..., Client], anonymous: Client) -> None:
    admin = login(Role.ADMIN, csrf=True)
    page = admin.get("/console/users/invite/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    answer = admin.post(
        "/console/users/invite/",
        {"csrfmiddlewaretoken": token.group(1), "username": "mei", "email": "mei@example.com", "role": "supervisor"},
        follow=True,
    )
    assert "mei invited" in answer.content.decode()
    mei = User.objects.get(username="mei")
    assert user_role(mei) == Role.SUPERVISOR and not mei.has_usable_password()
    assert [m.to for m in mail.outbox] == [["mei@example.com"]]
    link = _mailed_link(mail.outbox[0])
    assert link.startswith("http://testserver/console/password/set/")

    done = _set_password(anonymous, link)
    assert done.status_code == 302 and done.headers["Location"] == "/console/login/"
    assert Client().login(username="mei", password=NEW_PASSWORD)
    again = anonymous.get(link)  # used: the password it was made for is gone
    assert again.status_code == 200 and "This link does not work" in again.content.decode()

    actions = list(AuditEntry.objects.filter(target_id=str(mei.pk)).order_by("id").values_list("action", "actor_name"))
    assert actions == [("user.invite", "admin"), ("user.password_link", "admin"), ("user.password_set", "mei")]
    invite = AuditEntry.objects.get(action="user.invite")
    assert invite.after == {"email": "mei@example.com", "role": "supervisor", "is_active": True}


def test_an_invitation_refuses_a_taken_username_or_email(login: Callable[..., Client]) -> None:
    User.objects.create_user("amy", email="amy@example.com")
    admin = login(Role.ADMIN)
    page = admin.post("/console/users/invite/", {"username": "AMY", "email": "Amy@Example.com", "role": "staff"})
    text = page.content.decode()
    assert page.status_code == 200 and "username already exists" in text and "e-mail address already exists" in text
    assert User.objects.count() == 2 and not mail.outbox and not AuditEntry.objects.filter(action="user.invite").exists()


def test_a_link_expires(settings, anonymous: Client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_RESET_TIMEOUT = 600
    user = User.objects.create_user("kim", email="kim@example.com", password=TEST_PASSWORD)
    link = password_link_url(user=user, base_url="http://testserver")
    made = password_link_tokens._now()
    monkeypatch.setattr(password_link_tokens, "_now", lambda: made + timedelta(seconds=599))
    assert anonymous.get(link).status_code == 302  # still valid
    monkeypatch.setattr(password_link_tokens, "_now", lambda: made + timedelta(seconds=601))
    answer = anonymous.get(link)
    assert answer.status_code == 200 and "This link does not work" in answer.content.decode()


def test_deactivating_a_user_voids_their_links(anonymous: Client) -> None:
    user = User.objects.create_user("lee", email="lee@example.com", password=TEST_PASSWORD)
    link = password_link_url(user=user, base_url="http://testserver")
    user_update(user=user, role=Role.STAFF, active=False, actor=None)
    assert "This link does not work" in anonymous.get(link).content.decode()


@pytest.mark.usefixtures("celery_eager")
def test_forgot_password_answers_alike_for_unknown_addresses(anonymous: Client, address: str, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("ana", Role.STAFF)
    user.email = f"ana-{uuid.uuid4().hex[:8]}@example.com"  # mails per mailbox are counted in the shared cache
    user.save()
    page = anonymous.get("/console/login/").content.decode()
    assert 'href="/console/password/forgot/"' in page
    known = anonymous.post("/console/password/forgot/", {"email": user.email.upper()})
    unknown = anonymous.post("/console/password/forgot/", {"email": "nobody@example.com"})
    assert (known.status_code, known.headers["Location"]) == (unknown.status_code, unknown.headers["Location"])
    assert known.headers["Location"] == "/console/password/forgot/sent/"
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert list(AuditEntry.objects.values_list("action", "target_id")) == [("user.password_reset_requested", str(user.pk))]
    assert ipaddress.ip_address(AuditEntry.objects.get().ip or "") == ipaddress.ip_address(address)
    assert _set_password(anonymous, _mailed_link(mail.outbox[0])).status_code == 302
    assert Client().login(username="ana", password=NEW_PASSWORD)


@pytest.mark.usefixtures("celery_eager")
def test_forgot_password_is_throttled_per_client_and_per_mailbox(settings, address: str) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_RESET_MAX_PER_ADDRESS = 2
    settings.PASSWORD_RESET_MAX_PER_EMAIL = 1
    mailbox = f"{uuid.uuid4().hex[:8]}@example.com"
    User.objects.create_user("bo", email=mailbox, password=TEST_PASSWORD)
    client = Client(REMOTE_ADDR=address)
    assert client.post("/console/password/forgot/", {"email": mailbox}).status_code == 302
    assert Client(REMOTE_ADDR=address + "1").post("/console/password/forgot/", {"email": mailbox}).status_code == 302
    assert len(mail.outbox) == 1  # the second request for that mailbox answered alike, and mailed nothing
    assert client.post("/console/password/forgot/", {"email": "other@example.com"}).status_code == 302
    refused = client.post("/console/password/forgot/", {"email": "other@example.com"})
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()


def test_invalid_links_are_throttled_per_client(settings, anonymous: Client) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_LINK_MAX_FAILURES_PER_ADDRESS = 2
    user = User.objects.create_user("jo", email="jo@example.com", password=TEST_PASSWORD)
    valid = password_link_url(user=user, base_url="http://testserver")
    guessed = valid.rstrip("/").rsplit("/", 1)[0] + "/cf3-0123456789abcdef0123456789abcdef/"
    assert anonymous.get(guessed).status_code == 200
    assert anonymous.get(guessed).status_code == 200
    assert anonymous.get(valid).status_code == 429  # locked for the window, even with a valid link
    assert Client(REMOTE_ADDR="2001:db8::99").get(valid).status_code == 302


def test_admin_mails_a_password_link_to_an_active_user_only(login: Callable[..., Client]) -> None:
    admin = login(Role.ADMIN)
    staff = User.objects.create_user("sam", email="sam@example.com", password=TEST_PASSWORD)
    answer = admin.post(f"/console/users/{staff.pk}/password-link/", follow=True).content.decode()
    assert "was mailed to sam@example.com" in answer and [m.to for m in mail.outbox] == [["sam@example.com"]]
    assert str(mail.outbox[0].subject) == "Choose a new password for the Kiosk Avatar console"
    entry = AuditEntry.objects.get(action="user.password_link")
    assert (entry.actor_name, entry.target_id, entry.after) == ("admin", str(staff.pk), {"kind": str(LinkKind.RESET)})
    staff.is_active = False
    staff.save()
    answer = admin.post(f"/console/users/{staff.pk}/password-link/", follow=True).content.decode()
    assert "Reactivate this user" in answer and len(mail.outbox) == 1


def test_the_last_active_admin_stays_and_no_admin_deactivates_themself(login: Callable[..., Client]) -> None:
    admin = login(Role.ADMIN)
    me = User.objects.get(username="admin")
    answer = admin.post(f"/console/users/{me.pk}/", {"role": "admin"}, follow=True).content.decode()  # "active" unticked
    me.refresh_from_db()
    assert "cannot lower your own role or deactivate yourself" in answer and me.is_active
    with pytest.raises(ApplicationError) as raised:  # e.g. from a script, with nobody else able to log in
        user_update(user=me, role=Role.ADMIN, active=False, actor=None)
    assert raised.value.code == "user_last_admin"
    me.refresh_from_db()
    assert me.is_active and user_role(me) == Role.ADMIN
    other = User.objects.create_superuser("root", "root@example.com", TEST_PASSWORD)
    user_update(user=me, role=Role.STAFF, active=True, actor=other)  # a superuser is an admin too
    assert user_role(me) == Role.STAFF
    assert list(AuditEntry.objects.values_list("action", "actor_name")) == [("user.update", "root")]


def test_everyone_changes_their_own_password_and_stays_logged_in(login: Callable[..., Client], settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES = 2
    staff = login(Role.STAFF, username=f"s-{uuid.uuid4().hex[:6]}")
    assert 'href="/console/password/change/"' in staff.get("/console/").content.decode()
    changed = staff.post(
        "/console/password/change/",
        {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password is changed." in changed.content.decode()
    assert staff.get("/console/").status_code == 200  # the session survived the change
    user = User.objects.get(username__startswith="s-")
    assert user.check_password(NEW_PASSWORD)
    assert list(AuditEntry.objects.values_list("action", "actor_name")) == [("user.password_change", user.username)]
    for _ in range(2):
        wrong = staff.post(
            "/console/password/change/", {"old_password": "guess", "new_password1": "x" * 12, "new_password2": "x" * 12}
        )
        assert "entered incorrectly" in wrong.content.decode()
    locked = staff.post(
        "/console/password/change/", {"old_password": NEW_PASSWORD, "new_password1": "y" * 12, "new_password2": "y" * 12}
    )
    assert "Too many wrong passwords" in locked.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_the_password_forms_need_their_csrf_token(login: Callable[..., Client], address: str) -> None:
    strict = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    assert strict.post("/console/password/forgot/", {"email": "a@example.com"}).status_code == 403
    admin = login(Role.ADMIN, csrf=True)
    assert admin.post("/console/users/invite/", {"username": "z", "email": "z@example.com", "role": "staff"}).status_code == 403
    assert admin.post("/console/password/change/", {}).status_code == 403
    assert not mail.outbox


def test_an_invitation_whose_mail_fails_says_so_and_can_be_sent_again(login: Callable[..., Client], settings: Any) -> None:
    with socket.socket() as sock:  # a port nothing listens on: the SMTP connection is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    admin = login(Role.ADMIN)
    answer = admin.post("/console/users/invite/", {"username": "noor", "email": "noor@example.com", "role": "staff"}, follow=True)
    assert "The mail could not be sent" in answer.content.decode()
    noor = User.objects.get(username="noor")
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["user.invite"]  # no link went out
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    admin.post(f"/console/users/{noor.pk}/password-link/")
    assert [m.to for m in mail.outbox] == [["noor@example.com"]] and "You are invited" in str(mail.outbox[0].subject)
