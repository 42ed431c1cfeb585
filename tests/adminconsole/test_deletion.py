"""Deleting avatars and kiosks (admins): a confirmation first, an audit entry, and nothing left
dangling: an avatar a kiosk shows stays (the kiosks are named), a kiosk's screen is disconnected."""
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEntry
from avatars.models import Avatar
from common.roles import Role
from conversations.models import Conversation
from kiosk.models import Kiosk, Venue
from kiosk.pairing import kiosk_for_token, kiosk_group, kiosk_pair, kiosk_pairing_code_create
from tests.adminconsole.test_avatars import ffmpeg_video

pytestmark = pytest.mark.django_db
Capture = Callable[..., AbstractContextManager[Any]]


def ready_avatar(name: str) -> Avatar:
    avatar = Avatar(name=name, status=Avatar.Status.READY)
    avatar.source.save(f"{name.lower()}.png", ContentFile(b"a prepared still"), save=False)
    avatar.save()
    return avatar


def test_an_avatar_shown_on_kiosks_cannot_be_deleted_and_the_page_names_them(login: Callable[..., Client]) -> None:
    avatar = ready_avatar("Mei")
    venue = Venue.objects.create(name="Mall")
    for name in ("Lobby", "Car park"):
        Kiosk.objects.create(name=name, venue=venue, avatar=avatar)
    admin = login(Role.ADMIN)
    page = admin.get(f"/console/avatars/{avatar.pk}/delete/").content.decode()
    assert "It is shown on Car park, Lobby" in page and 'id="confirm"' not in page
    refused = admin.post(f"/console/avatars/{avatar.pk}/delete/")
    assert refused.status_code == 409 and "Shown on Car park, Lobby" in refused.content.decode()
    assert Avatar.objects.filter(pk=avatar.pk).exists() and not AuditEntry.objects.filter(action="avatar.delete").exists()


def test_a_failed_upload_is_deleted_with_its_files(
    login: Callable[..., Client], media_root: Path, celery_eager: None, django_capture_on_commit_callbacks: Capture,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    admin = login(Role.ADMIN)
    blank = ffmpeg_video(tmp_path_factory.mktemp("blank") / "blank.webm", "-f", "lavfi", "-i", "color=gray:s=96x96:r=5:d=1")
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/console/avatars/", {"name": "Nobody", "photo": SimpleUploadedFile("blank.webm", blank),
                                         "license_note": ""})
    avatar = Avatar.objects.get(name="Nobody")
    assert avatar.status == "failed"
    video = media_root / avatar.video.name
    assert video.exists()
    assert 'id="confirm"' in admin.get(f"/console/avatars/{avatar.pk}/delete/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"/console/avatars/{avatar.pk}/delete/").status_code == 302
    assert not Avatar.objects.exists() and not video.exists()
    assert AuditEntry.objects.get(action="avatar.delete").before["files"] == [avatar.video.name]  # type: ignore[index]


def test_deleting_a_kiosk_revokes_its_token_disconnects_its_screen_and_keeps_its_transcripts(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Capture,
) -> None:
    kiosk = Kiosk.objects.create(name="Test kiosk", venue=Venue.objects.create(name="Mall"))
    _paired, token = kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk))
    conversation = Conversation.objects.create(kiosk=kiosk, public_id=uuid.uuid4())
    layer = get_channel_layer()
    assert layer is not None
    screen = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(kiosk_group(kiosk.pk), screen)
    admin = login(Role.ADMIN)
    confirm = admin.get(f"/console/kiosks/{kiosk.pk}/delete/").content.decode()
    assert "disconnected at once, as when unpairing" in confirm and Kiosk.objects.filter(pk=kiosk.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"/console/kiosks/{kiosk.pk}/delete/").status_code == 302
    assert async_to_sync(layer.receive)(screen) == {"type": "kiosk.token_revoked"}
    assert not Kiosk.objects.exists() and kiosk_for_token(token) is None
    conversation.refresh_from_db()
    assert conversation.kiosk is None
    deleted = AuditEntry.objects.get(action="kiosk.delete")
    assert deleted.target_label == "Test kiosk" and deleted.before["paired"] is True  # type: ignore[index]


def test_deleting_is_for_admins(login: Callable[..., Client]) -> None:
    kiosk = Kiosk.objects.create(name="Door", venue=Venue.objects.create(name="Mall"))
    avatar = ready_avatar("Kai")
    staff = login(Role.STAFF)
    assert staff.post(f"/console/kiosks/{kiosk.pk}/delete/").status_code in (302, 403)
    assert staff.post(f"/console/avatars/{avatar.pk}/delete/").status_code in (302, 403)
    assert Kiosk.objects.exists() and Avatar.objects.exists()
