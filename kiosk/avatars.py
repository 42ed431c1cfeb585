"""Avatar preparation: what a staff upload goes through before a kiosk can show it.

The portrait rig (face, mouth and eye boxes for the CPU renderer) always; MuseTalk latents and
blend masks too when its weights and a GPU are present. Progress is kept in the shared cache for
the console's progress bar; a failure leaves the avatar marked failed with the reason, and
nothing half-prepared in use.
"""
import io
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify
from PIL import Image as PILImage

from adminconsole.audit import audit_record
from avatar_runtime.doctor import MUSETALK_FILES
from avatar_runtime.render.portrait.prepare import MAX_PIXELS, PortraitError, load_image, prepare_portrait
from avatar_runtime.render.portrait.rig import RigOverrides
from common.errors import ApplicationError
from kiosk.models import Avatar

log = logging.getLogger(__name__)
MAX_AVATAR_BYTES = 10 * 1024 * 1024
AVATAR_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
Actor = AbstractBaseUser | AnonymousUser | None


def avatar_progress_key(avatar_id: int) -> str:
    return f"avatar:{avatar_id}:progress"


def avatar_progress(avatar_id: int) -> dict[str, object]:
    value = cache.get(avatar_progress_key(avatar_id))
    return dict(value) if isinstance(value, dict) else {"fraction": 0.0, "stage": "queued"}


def _report(avatar_id: int) -> Callable[[float, str], None]:
    def report(fraction: float, stage: str) -> None:
        cache.set(avatar_progress_key(avatar_id), {"fraction": round(fraction, 3), "stage": stage}, timeout=3600)

    return report


def _musetalk_available(models_dir: Path) -> bool:
    return torch.cuda.is_available() and all((models_dir / name).exists() for name in MUSETALK_FILES)


def _checked_image_format(content: bytes) -> str:
    """The file's image format, read from its header only (a decompression bomb is never decoded)."""
    if len(content) > MAX_AVATAR_BYTES:
        raise ApplicationError("avatar_too_large", f"Photos are limited to {MAX_AVATAR_BYTES // 2**20} MB.",
                               status=413)
    try:
        with PILImage.open(io.BytesIO(content)) as image:
            width, height, kind = image.width, image.height, image.format or ""
    except (PILImage.UnidentifiedImageError, OSError, ValueError, PILImage.DecompressionBombError) as exc:
        raise ApplicationError("avatar_not_an_image", "The file is not a photo we can read (use JPEG, PNG or WebP).") from exc
    if kind not in AVATAR_FORMATS:
        raise ApplicationError("avatar_not_an_image", f"{kind or 'This'} images are not supported; use JPEG, PNG or WebP.")
    if width * height > MAX_PIXELS:
        raise ApplicationError("avatar_too_many_pixels",
                               f"The photo is {width}x{height} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels.")
    return AVATAR_FORMATS[kind]


def avatar_prepare(*, avatar_id: int) -> Avatar:
    """Prepare ``avatar_id`` for the renderers; raises ``ApplicationError`` when the photo is unusable."""
    with transaction.atomic():
        avatar = Avatar.objects.select_for_update().get(pk=avatar_id)
        avatar.status = Avatar.Status.PREPARING
        avatar.preparation_error = ""
        avatar.save(update_fields=["status", "preparation_error", "updated_at"])
    report = _report(avatar_id)
    report(0.05, "detecting the face")
    overrides = RigOverrides.from_dict({k: v for k, v in (("face", avatar.face_box), ("mouth", avatar.mouth_box)) if v})
    cache_dir = Path(settings.MEDIA_ROOT) / "avatar-cache"
    try:
        with avatar.source.open("rb") as handle:
            data = handle.read()
        portrait = prepare_portrait(data, overrides=overrides, cache_dir=cache_dir)
        report(0.5, "portrait rig ready")
        models_dir = Path(settings.MODELS_DIR)
        if _musetalk_available(models_dir):
            from avatar_runtime.render.musetalk.prepare import load_source, prepare_avatar
            from avatar_runtime.render.musetalk.weights import load_models

            models = load_models(models_dir, device="cuda")
            prepare_avatar(load_source(Path(avatar.source.path), 250), models, cache_dir=cache_dir,
                           progress=lambda fraction, stage: report(0.5 + 0.5 * fraction, f"MuseTalk: {stage}"))
    except (PortraitError, ApplicationError) as exc:
        Avatar.objects.filter(pk=avatar_id).update(status=Avatar.Status.FAILED, preparation_error=exc.message)
        report(1.0, "failed")
        raise
    rig = portrait.rig
    Avatar.objects.filter(pk=avatar_id).update(
        status=Avatar.Status.READY, face_box=rig.face.as_list(), mouth_box=rig.mouth.as_list(), preparation_error="",
    )
    report(1.0, "ready")
    log.info("avatar %s prepared (mouth confidence %.2f)", avatar_id, rig.mouth_confidence)
    return Avatar.objects.get(pk=avatar_id)




def _avatar_snapshot(avatar: Avatar) -> dict[str, object]:
    return {"name": avatar.name, "source": avatar.source.name, "status": avatar.status, "face_box": avatar.face_box,
            "mouth_box": avatar.mouth_box, "license_note": avatar.license_note}


def _check_photo(content: bytes) -> str:
    """The photo's file extension, once the header (size, format, pixel count) and a full decode pass."""
    extension = _checked_image_format(content)
    try:
        load_image(content)
    except PortraitError as exc:  # a truncated or corrupt file whose header looked fine
        raise ApplicationError("avatar_not_an_image", "The file is not a photo we can read (use JPEG, PNG or WebP).") from exc
    return extension


@transaction.atomic
def avatar_create(*, name: str, content: bytes, license_note: str = "", user: Actor = None) -> Avatar:
    """Store an uploaded portrait and queue its preparation (after commit); nothing is saved for a bad file."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApplicationError("avatar_invalid", "Give the avatar a name (at most 100 characters).")
    extension = _check_photo(content)
    avatar = Avatar(name=name, license_note=license_note.strip()[:300])
    avatar.source.save(f"{slugify(name) or 'avatar'}.{extension}", ContentFile(content), save=False)
    try:
        avatar.save()
    except Exception:
        avatar.source.delete(save=False)  # no orphan file when the row cannot be written
        raise
    audit_record(actor=user, action="avatar.create", target=avatar, after=_avatar_snapshot(avatar))
    _prepare_after_commit(avatar.pk)
    return avatar


def _prepare_after_commit(avatar_id: int) -> None:
    from kiosk.tasks import avatar_prepare_task

    cache.set(avatar_progress_key(avatar_id), {"fraction": 0.0, "stage": "queued"}, timeout=3600)
    transaction.on_commit(lambda: avatar_prepare_task.delay(avatar_id))


@transaction.atomic
def avatar_mouth_set(*, avatar: Avatar, mouth_box: list[int], user: Actor = None) -> Avatar:
    """Replace the detected mouth region (source-photo pixels) and prepare the avatar again with it."""
    with avatar.source.open("rb") as handle:
        height, width = load_image(handle.read()).shape[:2]
    x1, y1, x2, y2 = (int(v) for v in mouth_box)
    if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
        raise ApplicationError("mouth_box_invalid", f"The mouth box must lie inside the {width}×{height} photo "
                                                    "with x1 < x2 and y1 < y2.")
    if (x2 - x1) < 8 or (y2 - y1) < 4:
        raise ApplicationError("mouth_box_invalid", "The mouth box is too small (at least 8×4 pixels).")
    before = _avatar_snapshot(avatar)
    avatar.mouth_box = [x1, y1, x2, y2]
    avatar.status = Avatar.Status.UPLOADED
    avatar.save(update_fields=["mouth_box", "status", "updated_at"])
    audit_record(actor=user, action="avatar.mouth", target=avatar, before=before, after=_avatar_snapshot(avatar))
    _prepare_after_commit(avatar.pk)
    return avatar


@transaction.atomic
def avatar_assign(*, avatar: Avatar, kiosk_ids: list[int], user: Actor = None) -> list[str]:
    """Show ``avatar`` on these kiosks (only a ready avatar); returns the kiosks' names."""
    from kiosk.models import Kiosk

    if avatar.status != Avatar.Status.READY:
        raise ApplicationError("avatar_not_ready", "Only a prepared (ready) avatar can be shown on kiosks.")
    kiosks = list(Kiosk.objects.select_for_update().filter(pk__in=kiosk_ids))
    for kiosk in kiosks:
        if kiosk.avatar_id != avatar.pk:
            audit_record(actor=user, action="kiosk.avatar", target=kiosk, before={"avatar": kiosk.avatar_id},
                         after={"avatar": avatar.pk})
    Kiosk.objects.filter(pk__in=[k.pk for k in kiosks]).update(avatar=avatar)
    return [k.name for k in kiosks]
