"""Avatar uploads through the service the console uses: clear errors, no crash, nothing half-saved."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avatars.models import Avatar
from avatars.services import avatar_create
from common.errors import ApplicationError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path, celery_eager: None) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path  # preparation runs at commit, in this process (celery_eager)
    return tmp_path


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def bomb() -> bytes:
    """A 12000 x 12000 PNG (144 megapixels) of a few kilobytes: harmless until decoded."""
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("make", "code"), [
    # Neither a readable photo nor a readable video (uploads may be either).
    (lambda: b"%PDF-1.7 this is a document, not a photo", "avatar_unreadable"),
    (lambda: encode(np.zeros((64, 64, 3), np.uint8))[:40], "avatar_unreadable"),  # a truncated PNG
    (lambda: b"GIF89a" + b"\x00" * 100, "avatar_unreadable"),
    (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * (50 * 1024 * 1024), "avatar_too_large"),  # 50 MB
    (bomb, "avatar_too_many_pixels"),
])
def test_an_unusable_file_is_refused_before_anything_is_saved(make, code: str, media: Path) -> None:  # type: ignore[no-untyped-def]
    content = make()
    with pytest.raises(ApplicationError) as refused:
        avatar_create(name="Bad", content=content)
    assert refused.value.code == code and refused.value.message
    assert not Avatar.objects.exists()
    assert files_under(media) == []


@pytest.mark.slow
@pytest.mark.parametrize(("photo", "code"), [
    ("blank", "portrait_no_face"),
    ("two", "portrait_multiple_faces"),
])
def test_a_photo_without_exactly_one_face_fails_preparation_with_its_reason(photo: str, code: str, media: Path) -> None:
    from skimage import data

    face = data.astronaut()
    array = np.full((400, 400, 3), 180, np.uint8) if photo == "blank" else np.concatenate([face, face], axis=1)
    avatar = avatar_create(name=photo, content=encode(array, "JPEG"))
    avatar.refresh_from_db()
    assert avatar.status == Avatar.Status.FAILED
    assert avatar.face_box is None and avatar.mouth_box is None  # nothing half-prepared
    assert avatar.preparation_error
    assert not (media / "avatar-cache").exists() or not any((media / "avatar-cache").iterdir())
    from avatars.services import avatar_progress

    assert avatar_progress(avatar.pk)["stage"] == "failed"
    from avatar_runtime.render.portrait.prepare import PortraitError, prepare_portrait

    with pytest.raises(PortraitError) as reason:
        prepare_portrait(avatar.source.read())
    assert reason.value.code == code


@pytest.mark.slow
def test_a_good_photo_is_saved_and_prepared() -> None:
    from skimage import data

    avatar = avatar_create(name="Astronaut", content=encode(data.astronaut(), "JPEG"))
    avatar.refresh_from_db()
    assert avatar.status == Avatar.Status.READY and avatar.face_box is not None
    assert avatar.source.name.endswith(".jpg")
