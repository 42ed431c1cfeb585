"""The demo content a fresh install starts with."""
import os
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from avatars.models import Avatar, VoiceSetting
from common.languages import KIOSK_LANGUAGES
from common.roles import Role, user_role
from kiosk.models import Kiosk
from knowledgebase.models import FaqEntry, FaqTranslation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def test_demo_has_a_multilingual_knowledge_base_avatar_kiosk_and_voices() -> None:
    call_command("load_demo", stdout=StringIO())
    assert FaqEntry.objects.count() >= 25
    languages = set(FaqTranslation.objects.values_list("language", flat=True))
    assert languages == set(KIOSK_LANGUAGES)
    for language in KIOSK_LANGUAGES:
        assert FaqTranslation.objects.filter(language=language).count() >= 20, language
    avatar = Avatar.objects.get()
    assert avatar.source.size > 100_000 and avatar.source.name.endswith(".png")
    assert "Public domain" in avatar.license_note
    kiosk = Kiosk.objects.get()
    assert kiosk.avatar == avatar and set(kiosk.languages) == set(KIOSK_LANGUAGES)
    assert set(kiosk.greetings) == set(KIOSK_LANGUAGES)
    assert set(VoiceSetting.objects.values_list("language", flat=True)) == set(KIOSK_LANGUAGES)


def test_passwords_are_generated_and_printed_once() -> None:
    out = StringIO()
    call_command("load_demo", stdout=out)
    printed = {line.split("'")[1]: line.split("password: ")[1].split()[0]
               for line in out.getvalue().splitlines() if "password:" in line}
    assert set(printed) == {"staff", "supervisor", "admin"}
    assert authenticate(username="staff", password=printed["staff"]) is not None
    supervisor = authenticate(username="supervisor", password=printed["supervisor"])
    assert supervisor is not None and user_role(supervisor) == Role.SUPERVISOR
    second = StringIO()
    call_command("load_demo", stdout=second)
    assert "password:" not in second.getvalue()
    assert authenticate(username="staff", password=printed["staff"]) is not None


def test_passwords_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "KIOSK_STAFF_PASSWORD", "staff-pass-from-env-1")
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "'staff'" not in out.getvalue()
    staff = authenticate(username="staff", password="staff-pass-from-env-1")
    assert staff is not None and user_role(staff) == Role.STAFF


def test_loading_twice_changes_nothing() -> None:
    call_command("load_demo", stdout=StringIO())
    counts = (FaqEntry.objects.count(), FaqTranslation.objects.count(), Avatar.objects.count(), Kiosk.objects.count())
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert (FaqEntry.objects.count(), FaqTranslation.objects.count(), Avatar.objects.count(),
            Kiosk.objects.count()) == counts
    assert "0 created, 0 updated" in out.getvalue()
