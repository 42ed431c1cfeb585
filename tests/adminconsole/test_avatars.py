"""Avatars screen: upload runs the preparation job, bad files save nothing, mouth region, kiosks."""
import io
import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from audit.models import AuditEntry
from avatars.models import Avatar
from common.roles import Role
from config.celery import app as celery_app
from kiosk.models import Kiosk, Venue
from kiosk.session_factory import kiosk_profile

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
    assert "neither a photo (JPEG, PNG, WebP) nor a video (MP4, WebM, MOV) we can read" in response.content.decode()
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


def ffmpeg_video(path: Path, *inputs: str, filters: str = "format=yuv420p") -> bytes:
    """A real video made by ffmpeg from ``inputs`` (its ``-i`` arguments): H.264 mp4, or VP8 webm."""
    codec = ["-c:v", "libvpx"] if path.suffix == ".webm" else ["-c:v", "libx264", "-preset", "ultrafast"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", filters, *codec, str(path)],
                   check=True, timeout=60)
    return path.read_bytes()


def astronaut_video(folder: Path) -> bytes:
    """Half a second of black, then a second of the demo portrait (8 fps, 512x512)."""
    (folder / "astronaut.png").write_bytes(astronaut_png())
    return ffmpeg_video(folder / "astronaut.mp4", "-f", "lavfi", "-i", "color=black:s=512x512:r=8:d=0.5", "-loop", "1",
                        "-framerate", "8", "-t", "1", "-i", str(folder / "astronaut.png"),
                        filters="[0:v][1:v]concat=n=2:v=1,format=yuv420p")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_video_is_prepared_from_a_face_frame_with_a_preview_clip_and_an_unsure_mouth_can_be_set(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    admin = login(Role.ADMIN)
    video = astronaut_video(tmp_path_factory.mktemp("video"))
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin, "Clip", video, "clip.mp4")
    avatar = Avatar.objects.get(name="Clip")
    assert response.status_code == 302, avatar.preparation_error
    assert avatar.status == "ready" and avatar.video.name.endswith(".mp4")
    with avatar.source.open("rb") as handle, Image.open(handle) as still:  # a frame with the face, not the black lead-in
        assert still.size == (512, 512) and np.asarray(still).mean() > 60
    assert avatar.mouth_confidence is not None and avatar.mouth_confidence < 0.7

    page = admin.get(f"/console/avatars/{avatar.pk}/").content.decode()
    assert 'id="mouth-unsure"' in page and f'src="/console/avatars/{avatar.pk}/preview.mp4"' in page
    clip = admin.get(f"/console/avatars/{avatar.pk}/preview.mp4")
    assert clip.status_code == 200 and clip["Content-Type"] == "video/mp4"
    with av.open(io.BytesIO(b"".join(clip.streaming_content))) as container:  # type: ignore[attr-defined]
        assert container.streams.video[0].codec_context.width == 512 and container.streams.audio
        assert container.duration is not None and container.duration / av.time_base > 2.0  # the spoken sentence
    first_clip = avatar.preview_clip.name

    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/console/avatars/{avatar.pk}/mouth/", {"x1": 190, "y1": 135, "x2": 255, "y2": 160})
    avatar.refresh_from_db()
    assert avatar.status == "ready" and avatar.mouth_box == [190, 135, 255, 160] and avatar.mouth_confidence == 1.0
    assert avatar.preview_clip.name != first_clip and not avatar.preview_clip.storage.exists(first_clip)
    assert 'id="mouth-unsure"' not in admin.get(f"/console/avatars/{avatar.pk}/").content.decode()
    entry = AuditEntry.objects.get(action="avatar.mouth")
    assert entry.after["mouth_box"] == [190, 135, 255, 160]

    kiosk = Kiosk.objects.create(name="Door", venue=Venue.objects.create(name="Mall"))
    admin.post(f"/console/avatars/{avatar.pk}/kiosks/", {"kiosks": [kiosk.pk]})
    profile = kiosk_profile(kiosk.pk)  # what the avatar worker renders this kiosk from
    assert profile.photo_path == avatar.source.path and json.loads(profile.overrides_key)["mouth"] == [190, 135, 255, 160]


def test_bad_videos_are_refused_with_a_reason_and_nothing_is_saved(
    login: Callable[..., Client], media: Path, settings: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    admin = login(Role.ADMIN)
    folder = tmp_path_factory.mktemp("bad")
    settings.AVATAR_VIDEO_MAX_SECONDS = 2
    long_video = ffmpeg_video(folder / "long.mp4", "-f", "lavfi", "-i", "color=gray:s=64x64:r=5:d=3")
    response = upload(admin, "Long", long_video, "long.mp4")
    assert response.status_code == 400 and "The video lasts 3 s; the limit is 2 s." in response.content.decode()
    broken = upload(admin, "Broken", long_video[:200], "broken.mp4")
    assert "neither a photo (JPEG, PNG, WebP) nor a video (MP4, WebM, MOV) we can read" in broken.content.decode()
    assert not Avatar.objects.exists() and not any(media.rglob("*.*")) and not AuditEntry.objects.exists()


def test_a_video_without_a_face_fails_preparation_with_the_reason_and_no_still_or_clip(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    admin = login(Role.ADMIN)
    blank = ffmpeg_video(tmp_path_factory.mktemp("blank") / "blank.webm", "-f", "lavfi", "-i", "color=gray:s=96x96:r=5:d=1")
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin, "Nobody", blank, "blank.webm")
    avatar = Avatar.objects.get(name="Nobody")
    assert avatar.status == "failed" and "No frame of the video shows one face" in avatar.preparation_error
    assert avatar.video and not avatar.source and not avatar.preview_clip
    page = admin.get(f"/console/avatars/{avatar.pk}/").content.decode()
    assert "No frame of the video shows one face" in page and "A frame of the video is chosen during preparation." in page
