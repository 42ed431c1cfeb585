"""Kiosks and users screens (admins): settings, pairing codes shown once, unpairing, roles, deactivation."""
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from common.roles import Role, user_role
from kiosk.models import Kiosk, Venue
from kiosk.pairing import kiosk_for_token, kiosk_pair

pytestmark = pytest.mark.django_db


def kiosk_form(**values: object) -> dict[str, object]:
    data: dict[str, object] = {"name": "Lobby", "venue_name": "Harbour Point", "location": "Main door",
                               "languages": ["en", "yue"], "default_language": "yue", "avatar": "", "enabled": "on",
                               "greeting_yue": "你好！", "greeting_en": "Hello!"}
    data.update(values)
    return data


def test_admin_creates_a_kiosk_with_languages_and_greetings(login: Callable[..., Client]) -> None:
    admin = login(Role.ADMIN)
    response = admin.post("/console/kiosks/new/", kiosk_form())
    kiosk = Kiosk.objects.get(name="Lobby")
    assert response.status_code == 302
    assert kiosk.languages == ["yue", "en"] and kiosk.default_language == "yue"
    assert kiosk.greetings == {"yue": "你好！", "en": "Hello!"} and kiosk.venue.name == "Harbour Point"
    bad = admin.post(f"/console/kiosks/{kiosk.pk}/", kiosk_form(default_language="ja"))
    assert bad.status_code == 400 and "default language must be one of" in bad.content.decode()
    kiosk.refresh_from_db()
    assert kiosk.default_language == "yue"
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["kiosk.create"]


def test_pairing_code_is_shown_once_and_pairs_then_revoking_unpairs(login: Callable[..., Client]) -> None:
    admin = login(Role.ADMIN)
    kiosk = Kiosk.objects.create(name="Door", venue=Venue.objects.create(name="Mall"))
    response = admin.post(f"/console/kiosks/{kiosk.pk}/pairing/")
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    code = page.split('id="pairing-code">')[1].split("<")[0]
    assert len(code) == 8 and f"/pair/?code={code}" in page
    assert code not in str(list(AuditEntry.objects.values_list("after", flat=True)))  # never stored in clear
    _paired, token = kiosk_pair(code=code)
    assert kiosk_for_token(token) is not None
    assert admin.get("/console/kiosks/").content.decode().count("Offline") == 1  # paired, never connected since

    Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now() - timedelta(minutes=1))
    assert ">Online<" in admin.get("/console/kiosks/").content.decode()
    admin.post(f"/console/kiosks/{kiosk.pk}/unpair/")
    assert kiosk_for_token(token) is None
    assert [a for a in AuditEntry.objects.order_by("id").values_list("action", flat=True)] == [
        "kiosk.pairing_code", "kiosk.unpair"]



def test_the_list_shows_online_kiosks_with_their_avatar_state_and_offline_ones_without(
    login: Callable[..., Client], settings: object
) -> None:
    settings.KIOSK_ONLINE_SECONDS = 30  # type: ignore[attr-defined]
    admin = login(Role.ADMIN)
    venue = Venue.objects.create(name="Mall")
    now = timezone.now()
    Kiosk.objects.create(name="Door", venue=venue, token_hash="a" * 64, last_seen_at=now - timedelta(seconds=5),
                         state="speaking", service="voice_only")  # degraded under load
    Kiosk.objects.create(name="Lift", venue=venue, token_hash="b" * 64, last_seen_at=now - timedelta(seconds=40),
                         state="listening", service="busy")  # offline since: not shown as busy
    page = admin.get("/console/kiosks/").content.decode()
    door, lift = page.split("<strong>Door</strong>")[1], page.split("<strong>Lift</strong>")[1]
    assert ">Online<" in door.split("</tr>")[0] and 'data-activity="speaking">Speaking<' in door
    assert ">Offline<" in lift.split("</tr>")[0] and 'data-activity=""' in lift.split("</tr>")[0]
    assert 'data-service="voice_only"' in door.split("</tr>")[0] and "data-service" not in lift.split("</tr>")[0]
    assert "heard from in the last 30 seconds" in page
    chinese = admin.get("/console/kiosks/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "数字人状态" in chinese and "最近 30 秒内" in chinese and "仅语音和字幕（负载）" in chinese

def test_kiosks_are_for_admins_only(login: Callable[..., Client]) -> None:
    kiosk = Kiosk.objects.create(name="Door", venue=Venue.objects.create(name="Mall"))
    supervisor = login(Role.SUPERVISOR)
    assert supervisor.get("/console/kiosks/").status_code == 403
    assert supervisor.post(f"/console/kiosks/{kiosk.pk}/pairing/").status_code == 403
    kiosk.refresh_from_db()
    assert kiosk.pairing_code_hash == ""


def test_admin_assigns_roles_and_deactivates_but_cannot_lock_themselves_out(login: Callable[..., Client]) -> None:
    admin = login(Role.ADMIN)
    login(Role.STAFF, username="amy")
    amy = User.objects.get(username="amy")
    assert admin.post(f"/console/users/{amy.pk}/", {"role": "supervisor", "active": "on"}).status_code == 302
    assert user_role(amy) == Role.SUPERVISOR
    admin.post(f"/console/users/{amy.pk}/", {"role": "supervisor"})  # "active" unticked
    amy.refresh_from_db()
    assert not amy.is_active
    me = User.objects.get(username="admin")
    page = admin.post(f"/console/users/{me.pk}/", {"role": "staff", "active": "on"}, follow=True).content.decode()
    assert "cannot lower your own role" in page and user_role(me) == Role.ADMIN
    entries = list(AuditEntry.objects.filter(action="user.update").order_by("id"))
    assert [(e.before, e.after) for e in entries] == [
        ({"role": "staff", "is_active": True}, {"role": "supervisor", "is_active": True}),
        ({"role": "supervisor", "is_active": True}, {"role": "supervisor", "is_active": False})]
    assert login(Role.STAFF, username="sam").get("/console/users/").status_code == 403


def test_the_user_list_has_a_bounded_number_of_queries(
    login: Callable[..., Client], django_assert_max_num_queries: object
) -> None:
    admin = login(Role.ADMIN)
    for n in range(20):
        login(Role.STAFF if n % 2 else Role.SUPERVISOR, username=f"user{n}")
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        assert admin.get("/console/users/").status_code == 200
