"""Avatar preparation: what a staff upload goes through before a kiosk can show it.

A video first gives up its best frontal frame as the still, and later a few seconds of itself as
the CPU renderer's idle loop (``portrait.idle_loop``, stored in the avatar cache). Then the portrait
rig (face, mouth and eye boxes for the CPU renderer) always; MuseTalk latents and blend masks too when its
weights and a GPU are present; and a preview clip of the avatar speaking. Progress is kept in the
shared cache for the console's progress bar; a failure leaves the avatar marked failed with the
reason, and nothing half-prepared in use.
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
from django.utils.translation import gettext_noop
from PIL import Image as PILImage

from audit.log import audit_record
from avatar_runtime.doctor import MUSETALK_FILES
from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.portrait.idle_loop import idle_loop
from avatar_runtime.render.portrait.prepare import MAX_PIXELS, PortraitError, load_image, prepare_portrait
from avatar_runtime.render.portrait.rig import PortraitRig, RigOverrides
from avatar_runtime.render.portrait.video import VideoError, best_frame, probe_video
from avatars.models import Avatar
from avatars.preview import avatar_preview_language, avatar_preview_render
from common.errors import ApplicationError

log = logging.getLogger(__name__)
MAX_AVATAR_BYTES = 10 * 1024 * 1024
MAX_VIDEO_PIXELS = 3840 * 2160
MOUTH_UNSURE_BELOW = 0.7  # mouth confidence under which the console asks staff to check the box
AVATAR_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
Actor = AbstractBaseUser | AnonymousUser | None


def avatar_progress_key(avatar_id: int) -> str:
    return f"avatar:{avatar_id}:progress"


def avatar_progress(avatar_id: int) -> dict[str, object]:
    value = cache.get(avatar_progress_key(avatar_id))
    return dict(value) if isinstance(value, dict) else {"fraction": 0.0, "stage": gettext_noop("queued")}


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


def _png(image: Image) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _still(avatar: Avatar, report: Callable[[float, str], None]) -> tuple[bytes, bool]:
    """The photo to rig, and whether it is new: a frame just chosen from the avatar's video.

    A video's frame is chosen once; preparing again (a mouth box set by hand) keeps that frame,
    whose pixels the boxes refer to.
    """
    if avatar.source:
        with avatar.source.open("rb") as handle:
            return handle.read(), False
    report(0.05, gettext_noop("choosing a frame of the video"))
    with avatar.video.open("rb") as handle:
        data = handle.read()
    return _png(best_frame(data, probe_video(data).seconds).image), True


def avatar_prepare(*, avatar_id: int) -> Avatar:
    """Prepare ``avatar_id`` for the renderers and render its preview clip; raises ``ApplicationError``
    when the photo or video is unusable (the avatar is then failed, its files as they were)."""
    with transaction.atomic():
        avatar = Avatar.objects.select_for_update().get(pk=avatar_id)
        avatar.status = Avatar.Status.PREPARING
        avatar.preparation_error = ""
        avatar.save(update_fields=["status", "preparation_error", "updated_at"])
    report = _report(avatar_id)
    overrides = RigOverrides.from_dict({k: v for k, v in (("face", avatar.face_box), ("mouth", avatar.mouth_box)) if v})
    cache_dir = Path(settings.MEDIA_ROOT) / "avatar-cache"
    try:
        still, new_still = _still(avatar, report)
        report(0.2, gettext_noop("detecting the face"))
        portrait = prepare_portrait(still, overrides=overrides, cache_dir=cache_dir)
        loop = None
        if avatar.video:
            report(0.3, gettext_noop("keeping the video's idle loop"))
            with avatar.video.open("rb") as handle:
                loop = idle_loop(handle.read(), portrait, cache_dir=cache_dir)
        report(0.4, gettext_noop("rendering the preview clip"))
        clip = avatar_preview_render(portrait=portrait, language=avatar_preview_language(avatar), loop=loop)
        report(0.6, gettext_noop("portrait ready"))
        models_dir = Path(settings.MODELS_DIR)
        if _musetalk_available(models_dir):
            from avatar_runtime.render.musetalk.prepare import load_source, prepare_avatar
            from avatar_runtime.render.musetalk.weights import load_models

            models = load_models(models_dir, device="cuda")
            # MuseTalk animates a base clip: the video itself when there is one (its idle loop).
            base = Path(avatar.video.path if avatar.video else avatar.source.path)
            prepare_avatar(load_source(base, 250), models, cache_dir=cache_dir,
                           progress=lambda fraction, stage: report(0.6 + 0.4 * fraction, f"MuseTalk: {stage}"))
    except (PortraitError, ApplicationError) as exc:
        Avatar.objects.filter(pk=avatar_id).update(status=Avatar.Status.FAILED, preparation_error=exc.message)
        report(1.0, gettext_noop("failed"))
        raise
    _prepared_save(avatar, portrait.rig, still if new_still else None, clip)
    report(1.0, gettext_noop("ready"))
    log.info("avatar %s prepared (mouth confidence %.2f)", avatar_id, portrait.rig.mouth_confidence)
    return Avatar.objects.get(pk=avatar_id)


def _prepared_save(avatar: Avatar, rig: PortraitRig, still: bytes | None, clip: bytes) -> None:
    """Store the outcome of a preparation: boxes, the chosen frame (videos) and the preview clip."""
    stem = slugify(avatar.name) or "avatar"
    old_clip = avatar.preview_clip.name
    if still is not None:
        avatar.source.save(f"{stem}-frame.png", ContentFile(still), save=False)
    avatar.preview_clip.save(f"{stem}.mp4", ContentFile(clip), save=False)
    Avatar.objects.filter(pk=avatar.pk).update(
        status=Avatar.Status.READY, face_box=rig.face.as_list(), mouth_box=rig.mouth.as_list(),
        mouth_confidence=rig.mouth_confidence, source=avatar.source.name, preview_clip=avatar.preview_clip.name,
        preparation_error="",
    )
    if old_clip:
        avatar.preview_clip.storage.delete(old_clip)


def _avatar_snapshot(avatar: Avatar) -> dict[str, object]:
    return {"name": avatar.name, "source": avatar.source.name, "video": avatar.video.name, "status": avatar.status,
            "face_box": avatar.face_box, "mouth_box": avatar.mouth_box, "license_note": avatar.license_note}


def _check_photo(content: bytes) -> str:
    """The photo's file extension, once the header (size, format, pixel count) and a full decode pass."""
    extension = _checked_image_format(content)
    try:
        load_image(content)
    except PortraitError as exc:  # a truncated or corrupt file whose header looked fine
        raise ApplicationError("avatar_not_an_image", "The file is not a photo we can read (use JPEG, PNG or WebP).") from exc
    return extension


def _check_video(content: bytes) -> str:
    """The video's file extension, once its size, container, duration and frame size pass."""
    if len(content) > MAX_AVATAR_BYTES:
        raise ApplicationError("avatar_too_large", f"Uploads are limited to {MAX_AVATAR_BYTES // 2**20} MB.",
                               status=413)
    try:
        info = probe_video(content)
    except VideoError as exc:
        raise ApplicationError("avatar_unreadable", "The file is neither a photo (JPEG, PNG, WebP) nor a video "
                                                    "(MP4, WebM, MOV) we can read.") from exc
    if info.seconds > settings.AVATAR_VIDEO_MAX_SECONDS:
        raise ApplicationError("avatar_video_too_long", f"The video lasts {info.seconds:.0f} s; the limit is "
                                                        f"{settings.AVATAR_VIDEO_MAX_SECONDS} s.")
    if info.width * info.height > MAX_VIDEO_PIXELS:
        raise ApplicationError("avatar_too_many_pixels", f"The video is {info.width}x{info.height} pixels; "
                                                         "the limit is 3840x2160.")
    return info.extension


def _is_image(content: bytes) -> bool:
    try:
        with PILImage.open(io.BytesIO(content)):
            return True
    except (PILImage.UnidentifiedImageError, OSError, ValueError, PILImage.DecompressionBombError):
        return False


@transaction.atomic
def avatar_create(*, name: str, content: bytes, license_note: str = "", user: Actor = None) -> Avatar:
    """Store an uploaded portrait photo or short video and queue its preparation (after commit);
    nothing is saved for a bad file."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApplicationError("avatar_invalid", "Give the avatar a name (at most 100 characters).")
    is_photo = len(content) > MAX_AVATAR_BYTES or _is_image(content)
    extension = _check_photo(content) if is_photo else _check_video(content)
    avatar = Avatar(name=name, license_note=license_note.strip()[:300])
    field = avatar.source if is_photo else avatar.video
    field.save(f"{slugify(name) or 'avatar'}.{extension}", ContentFile(content), save=False)
    try:
        avatar.save()
    except Exception:
        field.delete(save=False)  # no orphan file when the row cannot be written
        raise
    audit_record(actor=user, action="avatar.create", target=avatar, after=_avatar_snapshot(avatar))
    _prepare_after_commit(avatar.pk)
    return avatar


def _prepare_after_commit(avatar_id: int) -> None:
    from avatars.tasks import avatar_prepare_task

    cache.set(avatar_progress_key(avatar_id), {"fraction": 0.0, "stage": "queued"}, timeout=3600)
    transaction.on_commit(lambda: avatar_prepare_task.delay(avatar_id))


@transaction.atomic
def avatar_mouth_set(*, avatar: Avatar, mouth_box: list[int], user: Actor = None) -> Avatar:
    """Replace the detected mouth region (source-photo pixels) and prepare the avatar again with it."""
    if not avatar.source:
        raise ApplicationError("avatar_not_ready", "The video's frame is chosen during preparation; wait for it.")
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
