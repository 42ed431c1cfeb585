"""Prepare a portrait once: find the face, mouth and eyes in a photo and frame it.

The result is cached on disk, keyed by the photo's hash and the settings and overrides, so a
kiosk session (or a worker restart) starts rendering without detecting anything again.
"""
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.face import Box, FaceDetection, detect_faces, lip_line, locate_features, teeth_visible
from avatar_runtime.render.portrait.rig import RIG_VERSION, PortraitRig, PortraitSettings, RigOverrides
from common.errors import ApplicationError

logger = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding them


class PortraitError(ApplicationError):
    """``code``: ``portrait_not_an_image``, ``portrait_no_face`` or ``portrait_multiple_faces``."""


@dataclass(frozen=True)
class PortraitAvatar:
    """A photo with its rig: everything a renderer needs."""

    image: Image  # the source photo, RGB
    rig: PortraitRig


def load_image(data: bytes) -> Image:
    """Decode a photo (JPEG, PNG, WebP ...) to RGB, upright according to its EXIF orientation."""
    try:
        with PILImage.open(io.BytesIO(data)) as pil:
            if pil.width * pil.height > MAX_PIXELS:
                raise PortraitError("portrait_not_an_image", f"The photo is too large ({pil.width}x{pil.height}).")
            upright = ImageOps.exif_transpose(pil) or pil
            return np.asarray(upright.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PortraitError("portrait_not_an_image", "The file is not an image we can read.") from exc


def _cache_key(digest: str, settings: PortraitSettings, overrides: RigOverrides) -> str:
    blob = json.dumps([RIG_VERSION, digest, settings.as_dict(), overrides.as_dict()], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _choose_face(image: Image, overrides: RigOverrides) -> FaceDetection:
    if overrides.face is not None:
        return FaceDetection(overrides.face, 1.0)
    faces = detect_faces(image, min_face=max(40, min(image.shape[:2]) // 12))
    if not faces:
        raise PortraitError("portrait_no_face", "No face was found in the photo. Use a frontal, well-lit portrait, "
                            "or draw the face box by hand.")
    if len(faces) > 1:
        raise PortraitError("portrait_multiple_faces", f"The photo shows {len(faces)} faces; use a photo of one person, "
                            "or draw the face box by hand.", extra={"faces": [f.box.as_list() for f in faces]})
    return faces[0]


def _frame(face: Box, width: int, height: int, settings: PortraitSettings) -> Box:
    """A square around the face (head and shoulders), inside the photo."""
    side = min(settings.crop_scale * face.width, float(width), float(height))
    cx, cy = face.center[0], face.center[1] + 0.35 * face.height
    x0 = float(np.clip(cx - side / 2, 0, width - side))
    y0 = float(np.clip(cy - side / 2, 0, height - side))
    return Box(x0, y0, x0 + side, y0 + side)


def build_rig(image: Image, digest: str, settings: PortraitSettings, overrides: RigOverrides) -> PortraitRig:
    face = _choose_face(image, overrides)
    found = locate_features(image, face.box)
    mouth = overrides.mouth or found.mouth
    left, right = overrides.left_eye or found.left_eye, overrides.right_eye or found.right_eye
    adjusted = tuple(n for n in ("face", "mouth", "left_eye", "right_eye") if getattr(overrides, n) is not None)
    teeth = teeth_visible(image, mouth) if overrides.teeth_visible is None else overrides.teeth_visible
    height, width = image.shape[:2]
    return PortraitRig(
        image_sha256=digest,
        image_size=(width, height),
        settings=settings,
        crop=_frame(face.box, width, height, settings),
        face=face.box,
        mouth=mouth,
        left_eye=left,
        right_eye=right,
        lip_line=lip_line(image, mouth),
        teeth_visible=teeth,
        face_score=face.score,
        mouth_confidence=1.0 if overrides.mouth else found.mouth_confidence,
        eyes_confidence=1.0 if overrides.left_eye and overrides.right_eye else found.eyes_confidence,
        adjusted=adjusted,
    )


def prepare_portrait(
    data: bytes,
    *,
    settings: PortraitSettings | None = None,
    overrides: RigOverrides | None = None,
    cache_dir: Path | None = None,
) -> PortraitAvatar:
    """Decode the photo and rig it, reusing a cached rig for the same photo, settings and overrides.

    Raises :class:`PortraitError` when the file is not an image, or it has no face or several.
    """
    settings = settings or PortraitSettings()
    overrides = overrides or RigOverrides()
    image = load_image(data)
    digest = hashlib.sha256(data).hexdigest()
    cached = cache_dir / f"{_cache_key(digest, settings, overrides)}.json" if cache_dir else None
    if cached is not None and cached.exists():
        try:
            return PortraitAvatar(image, PortraitRig.from_dict(json.loads(cached.read_text())))
        except (ValueError, KeyError, TypeError):
            logger.warning("portrait rig cache %s is unreadable; preparing again", cached.name)
    rig = build_rig(image, digest, settings, overrides)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(rig.to_json())
        tmp.replace(cached)
    logger.info("portrait prepared: face score %.2f, mouth confidence %.2f, eyes confidence %.2f",
                rig.face_score, rig.mouth_confidence, rig.eyes_confidence)
    return PortraitAvatar(image, rig)
