"""Avatars screen: upload runs the preparation job, bad files save nothing, mouth region, kiosks."""
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from adminconsole.models import AuditEntry
from adminconsole.roles import Role
from config.celery import app as celery_app
from kiosk.models import Avatar, Kiosk, Venue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield tmp_path
    celery_app.conf.task_always_eager = previous


def astronaut_png() -> bytes:
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client: Client, name: str, content: bytes, filename: str = "face.png") -> Any:
    return client.post("/console/avatars/", {"name": name, "photo": SimpleUploadedFile(filename, content), "license_note": ""})


@pytest.mark.slow
@pytest.mark.timeout(900)  # two portrait preparations: over 300 s when the shared machine's load is ~20
def test_upload_prepares_the_avatar_then_the_mouth_can_be_set_and_it_can_be_shown_on_a_kiosk(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> None:
    admin = login(Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin, "Eileen", astronaut_png())
    avatar = Avatar.objects.get(name="Eileen")
    assert response.status_code == 302 and response["Location"] == f"/console/avatars/{avatar.pk}/"
    assert avatar.status == "ready" and avatar.mouth_box is not None
    progress = admin.get(f"/console/avatars/{avatar.pk}/progress/").json()
    assert progress["status"] == "ready" and progress["fraction"] == 1.0
    page = admin.get(f"/console/avatars/{avatar.pk}/").content.decode()
    assert 'class="box mouth"' in page and "512×512" in page
    assert admin.get(f"/console/avatars/{avatar.pk}/source/").status_code == 200

    refused = admin.post(f"/console/avatars/{avatar.pk}/mouth/", {"x1": 300, "y1": 200, "x2": 900, "y2": 220}, follow=True)
    assert "must lie inside the 512×512 photo" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/console/avatars/{avatar.pk}/mouth/", {"x1": 160, "y1": 170, "x2": 220, "y2": 195})
    avatar.refresh_from_db()
    assert avatar.mouth_box == [160, 170, 220, 195] and avatar.status == "ready"

    venue = Venue.objects.create(name="Mall")
    kiosk = Kiosk.objects.create(name="Door", venue=venue)
    assert admin.post(f"/console/avatars/{avatar.pk}/kiosks/", {"kiosks": [kiosk.pk]}).status_code == 302
    kiosk.refresh_from_db()
    assert kiosk.avatar_id == avatar.pk
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"avatar.create", "avatar.mouth", "kiosk.avatar"} <= actions


def test_a_file_that_is_not_a_photo_gets_a_form_error_and_nothing_is_saved(login: Callable[..., Client], media: Path) -> None:
    admin = login(Role.ADMIN)
    response = upload(admin, "Bad", b"%PDF-1.4 not an image", "face.png")
    assert response.status_code == 400
    assert "not a photo we can read" in response.content.decode()
    gif = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(gif, format="GIF")
    assert "GIF images are not supported" in upload(admin, "Gif", gif.getvalue(), "x.gif").content.decode()
    too_big = upload(admin, "Big", b"\x89PNG" + b"0" * (10 * 1024 * 1024 + 1))
    assert too_big.status_code == 400 and "limited to 10 MB" in too_big.content.decode()
    assert not Avatar.objects.exists()
    assert not any(media.rglob("*.*"))  # no orphan file
    assert not AuditEntry.objects.exists()


def test_avatars_are_for_admins(login: Callable[..., Client]) -> None:
    assert login(Role.SUPERVISOR).get("/console/avatars/").status_code == 403
    assert login(Role.STAFF, username="s2").post("/console/avatars/", {"name": "x"}).status_code == 403
