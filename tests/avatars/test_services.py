"""Avatar preparation as a background job: boxes found, progress reported, bad photos fail cleanly."""
import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from avatars.models import Avatar
from avatars.services import avatar_progress
from avatars.tasks import avatar_prepare_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path


def upload(name: str, data: bytes) -> Avatar:
    avatar = Avatar(name=name)
    avatar.source.save(f"{name}.png", ContentFile(data), save=False)
    avatar.save()
    return avatar


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_demo_portrait_is_prepared_with_face_and_mouth_boxes() -> None:
    from skimage import data

    avatar = upload("astronaut", png(data.astronaut()))
    assert avatar_prepare_task.apply((avatar.pk,)).get() == Avatar.Status.READY
    avatar.refresh_from_db()
    x0, y0, x1, y1 = avatar.face_box
    mx0, my0, mx1, my1 = avatar.mouth_box
    assert 150 < x0 < x1 < 350 and 20 < y0 < y1 < 300  # the astronaut's face, in photo pixels
    assert x0 < mx0 < mx1 < x1 and (y0 + y1) / 2 < my0 < my1 <= y1 + 10  # the mouth in its lower half
    assert avatar_progress(avatar.pk) == {"fraction": 1.0, "stage": "ready"}


@pytest.mark.parametrize(("content", "code"), [
    (b"this is not an image", "portrait_not_an_image"),
    (png(np.full((300, 300, 3), 200, np.uint8)), "portrait_no_face"),
])
def test_an_unusable_upload_fails_with_its_reason(content: bytes, code: str) -> None:
    avatar = upload("bad", content)
    assert avatar_prepare_task.apply((avatar.pk,)).get() == f"failed: {code}"
    avatar.refresh_from_db()
    assert avatar.status == Avatar.Status.FAILED and avatar.preparation_error
    assert avatar.face_box is None


def test_a_video_avatar_is_prepared_with_its_idle_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from avatar_runtime.render.portrait.idle_loop import LOOP_SECONDS
    from tests.avatar_runtime.render.media import moving_portrait_video

    avatar = Avatar(name="moving")
    avatar.video.save("moving.mp4", ContentFile(moving_portrait_video()), save=False)
    avatar.save()
    assert avatar_prepare_task.apply((avatar.pk,)).get() == Avatar.Status.READY
    stored = list((tmp_path / "avatar-cache").glob("loop-*.npz"))
    assert len(stored) == 1
    with np.load(stored[0]) as loop:
        frames, transforms = loop["frames"], loop["transforms"]
    assert 1 < len(frames) <= LOOP_SECONDS * 25 and frames.shape[1:] == (512, 512, 3)
    assert len(transforms) == len(frames)
    assert np.ptp(transforms[:, 0, 2]) > 10  # the face pans across the loop: it is the video, not one frame
