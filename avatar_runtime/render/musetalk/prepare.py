"""Avatar preparation (once per avatar, a Celery job): boxes, latents, blend masks, cached on disk.

Per usable frame of the base clip: the face box, a 256 x 256 Lanczos crop scaled to [-1, 1] and a
copy with its lower half hidden, both VAE-encoded (distribution mean x 0.18215; masked first) into
an [8, 32, 32] latent, and a blend mask over the crop around the face. Frames play as a
ping-pong cycle. The result is cached per avatar under a key of the frames, the settings and the
weights, so re-running the job with unchanged inputs is a file read.
"""
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import torch

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.musetalk.config import FACE_SIZE, FPS, SCALING_FACTOR
from avatar_runtime.render.musetalk.face_detect import FaceBox, detect_face_box
from avatar_runtime.render.musetalk.masks import MaskSettings, crop_box, ellipse_mask, jaw_mask, parse_faces
from avatar_runtime.render.musetalk.weights import MuseTalkModels

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]
_FORMAT_VERSION = 1  # bump when what is cached, or how it is computed, changes
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


@dataclass(frozen=True)
class PrepareSettings:
    margin: int = 10  # px added below the chin (v1.5)
    max_frames: int = 250  # of the base clip (10 s at 25 fps)
    batch: int = 8  # frames per VAE / face-parsing call
    mask: MaskSettings = field(default_factory=MaskSettings)


@dataclass(frozen=True)
class PreparedAvatar:
    """Everything the renderer needs per base frame; arrays indexed by frame."""

    key: str
    frames: npt.NDArray[np.uint8]  # [N, H, W, 3] RGB
    boxes: npt.NDArray[np.int32]  # [N, 4] face boxes x1, y1, x2, y2
    crops: npt.NDArray[np.int32]  # [N, 4] mask / composite regions
    masks: npt.NDArray[np.float16]  # [N, S, S] alpha over each crop (top-left aligned), S = largest crop side
    latents: npt.NDArray[np.float16]  # [N, 8, 32, 32] masked + reference latents
    mask_source: str  # "face-parsing" or "ellipse"

    @property
    def cycle_length(self) -> int:
        return 2 * len(self.frames)

    def frame_index(self, slot: int) -> int:
        """Base frame shown at output slot ``slot``: frames forward, then backward (ping-pong)."""
        position = slot % self.cycle_length
        return position if position < len(self.frames) else self.cycle_length - 1 - position

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, frames=self.frames, boxes=self.boxes, crops=self.crops, masks=self.masks,
                 latents=self.latents, mask_source=np.array(self.mask_source), key=np.array(self.key))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "PreparedAvatar":
        with np.load(path, allow_pickle=False) as data:
            return cls(key=str(data["key"]), frames=data["frames"], boxes=data["boxes"], crops=data["crops"],
                       masks=data["masks"], latents=data["latents"], mask_source=str(data["mask_source"]))


def idle_clip(photo: Image, seconds: float = 2.0) -> list[Image]:
    """A short clip from a still photo: a slow breathing zoom (0.6 %), seamless as a ping-pong."""
    height, width = photo.shape[:2]
    frames = []
    count = max(2, round(seconds * FPS))
    for i in range(count):
        scale = 1.0 + 0.006 * (1 - np.cos(np.pi * i / (count - 1))) / 2
        matrix = cv2.getRotationMatrix2D((width / 2, height * 0.9), 0.0, scale)
        warped = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.asarray(warped, dtype=np.uint8))
    return frames


def load_source(path: Path, max_frames: int) -> list[Image]:
    """The avatar's base clip: a video's first frames, or an idle clip made from a photo."""
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{path.name}: not a readable image")
        return idle_clip(np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8))
    import av  # video decoding only; photos need no PyAV

    frames: list[Image] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8))
            if len(frames) >= max_frames:
                break
    return frames


def cache_key(frames: Sequence[Image], settings: PrepareSettings, models: MuseTalkModels) -> str:
    digest = hashlib.sha256(f"v{_FORMAT_VERSION};{asdict(settings)};{models.fingerprint};"
                            f"parser={models.face_parser is not None}".encode())
    for frame in frames:
        digest.update(np.ascontiguousarray(frame).tobytes())
    return digest.hexdigest()[:24]


def face_input(frame: Image, box: FaceBox) -> npt.NDArray[np.float32]:
    """The face crop as the model sees it: 256 x 256 Lanczos, RGB, [-1, 1], channels first."""
    crop = cv2.resize(frame[box.y1 : box.y2, box.x1 : box.x2], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_LANCZOS4)
    return (crop.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)


@torch.inference_mode()
def encode_faces(models: MuseTalkModels, faces: npt.NDArray[np.float32]) -> npt.NDArray[np.float16]:
    """[B, 3, 256, 256] faces -> [B, 8, 32, 32] latents: lower-half-masked copy first, then the face."""
    pixels = torch.from_numpy(faces).to(models.device, models.dtype)
    masked = pixels.clone()
    masked[:, :, FACE_SIZE // 2 :, :] = -1.0
    latents = [models.vae.encode(x).latent_dist.mean * SCALING_FACTOR for x in (masked, pixels)]
    return torch.cat(latents, dim=1).to(torch.float16).cpu().numpy()


def _masks(models: MuseTalkModels, frames: list[Image], boxes: list[FaceBox], crops: list[FaceBox],
           settings: MaskSettings) -> list[npt.NDArray[np.float32]]:
    regions = [frame[c.y1 : c.y2, c.x1 : c.x2] for frame, c in zip(frames, crops, strict=True)]
    local = [FaceBox(b.x1 - c.x1, b.y1 - c.y1, b.x2 - c.x1, b.y2 - c.y1) for b, c in zip(boxes, crops, strict=True)]
    if models.face_parser is None:
        return [ellipse_mask(r.shape[:2], f, settings) for r, f in zip(regions, local, strict=True)]
    labels = parse_faces(models.face_parser, regions, settings.parse_size)
    return [jaw_mask(lab, f, settings) for lab, f in zip(labels, local, strict=True)]


def prepare_avatar(frames: Sequence[Image], models: MuseTalkModels, *, cache_dir: Path | None = None,
                   settings: PrepareSettings | None = None, progress: ProgressCallback | None = None) -> PreparedAvatar:
    """Prepare (or load from ``cache_dir``) an avatar from its base clip's RGB frames."""
    settings = settings or PrepareSettings()
    report = progress or (lambda fraction, stage: None)
    frames = list(frames)[: settings.max_frames]
    key = cache_key(frames, settings, models)
    cached = cache_dir / f"musetalk-{key}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        report(1.0, "cached")
        return PreparedAvatar.load(cached)

    usable: list[tuple[Image, FaceBox]] = []
    for i, frame in enumerate(frames):
        box = detect_face_box(frame, settings.margin)
        if box is not None:
            usable.append((frame, box))
        report(0.4 * (i + 1) / len(frames), "detecting faces")
    if not usable:
        raise ValueError("no face found in any frame of the avatar's clip")
    log.info("avatar %s: face found in %d of %d frames", key, len(usable), len(frames))

    latents, masks, crops = [], [], []
    for start in range(0, len(usable), settings.batch):
        chunk = usable[start : start + settings.batch]
        latents.append(encode_faces(models, np.stack([face_input(f, b) for f, b in chunk])))
        chunk_crops = [crop_box(b, f.shape, settings.mask.expand) for f, b in chunk]
        masks += _masks(models, [f for f, _ in chunk], [b for _, b in chunk], chunk_crops, settings.mask)
        crops += chunk_crops
        report(0.4 + 0.6 * min(1.0, (start + len(chunk)) / len(usable)), "encoding faces")

    side = max(max(m.shape) for m in masks)
    square = np.zeros((len(masks), side, side), dtype=np.float16)
    for out, mask in zip(square, masks, strict=True):
        out[: mask.shape[0], : mask.shape[1]] = mask
    avatar = PreparedAvatar(
        key=key,
        frames=np.stack([f for f, _ in usable]),
        boxes=np.array([(b.x1, b.y1, b.x2, b.y2) for _, b in usable], dtype=np.int32),
        crops=np.array([(c.x1, c.y1, c.x2, c.y2) for c in crops], dtype=np.int32),
        masks=square,
        latents=np.concatenate(latents),
        mask_source="ellipse" if models.face_parser is None else "face-parsing",
    )
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        avatar.save(cached)
    return avatar
