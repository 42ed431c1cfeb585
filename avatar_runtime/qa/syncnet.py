"""Lip-sync scoring with SyncNet, the way syncnet_python's ``run_pipeline`` + ``run_syncnet`` do it.

Weights come from ``MODELS_DIR/syncnet/``: ``syncnet_v2.model`` (SyncNet) and ``sfd_face.pth``
(the S3FD face detector), the files syncnet_python's ``download_model.sh`` fetches. Pipeline:
face boxes per frame (S3FD on every ``detect_every``-th frame, interpolated and median-filtered),
official crops (box padded by ``crop_scale`` 0.4, resized to 224 x 224, BGR), MFCCs of the audio,
embeddings of every 5-frame window and its 0.2 s of audio, distances over offsets -15..15.
The reported numbers are syncnet_python's: ``min_dist`` is its "Min dist" (LSE-D), ``confidence``
its "Confidence" (LSE-C, median minus minimum of the mean distances). Its "AV offset" has the
opposite sign to ours (see ``qa.base``), so ``offset_frames = -AV offset``.
"""
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.signal import medfilt

from avatar_runtime.errors import ModelMissingError
from avatar_runtime.pipeline.messages import Image, Samples
from avatar_runtime.qa.base import MAX_OFFSET_FRAMES, SyncScore
from avatar_runtime.qa.embedded import track_faces
from avatar_runtime.qa.media import ClipError, decode_clip
from avatar_runtime.qa.mfcc import mfcc
from avatar_runtime.qa.s3fd import S3FD
from avatar_runtime.qa.syncnet_model import SyncNet, load_syncnet
from avatar_runtime.render.face import Box

FaceTrack = Callable[[Sequence[Image]], list[Box]]
log = logging.getLogger(__name__)

# LSE-C above ~3 is what SyncNet gives clips whose audio belongs to the lips (syncnet_python's
# data filtering and the talking-head literature use 3 as the cut); unrelated audio gives ~1.
CONFIDENCE_THRESHOLD = 3.0
CROP_SCALE = 0.4
WINDOW = 5  # video frames per SyncNet window (0.2 s), with 20 MFCC frames of audio


def syncnet_files(models_dir: Path) -> tuple[Path, Path]:
    return models_dir / "syncnet" / "syncnet_v2.model", models_dir / "syncnet" / "sfd_face.pth"


class S3fdTrack:
    """Face boxes for every frame from S3FD run on every ``every``-th frame.

    When S3FD finds no face at all, ``fallback`` (the renderer's own face detector) tracks it:
    every clip we score shows an avatar face the renderer located, and a score from slightly
    different crops beats no score.
    """

    def __init__(self, detector: S3FD, every: int = 5, fallback: FaceTrack | None = None) -> None:
        self.detector, self.every, self.fallback = detector, every, fallback

    def __call__(self, images: Sequence[Image]) -> list[Box]:
        picks = list(range(0, len(images), self.every))
        found = [(i, faces[0][0]) for i in picks if (faces := self.detector.detect(images[i]))]
        if not found and self.fallback is not None:
            log.info("S3FD found no face in %d frames; tracking the face with the renderer's detector", len(picks))
            return self.fallback(images)
        if not found:
            raise ClipError("clip_no_face", "No face was found in the clip.")
        at, frames = np.array([i for i, _ in found], float), np.arange(len(images), dtype=float)
        sides = [np.interp(frames, at, [getattr(b, s) for _, b in found]) for s in ("x0", "y0", "x1", "y1")]
        return [Box(*v) for v in zip(*(s.tolist() for s in sides), strict=True)]


def face_crops(images: Sequence[Image], boxes: Sequence[Box]) -> np.ndarray:
    """syncnet_python's ``crop_video``: ``T x 224 x 224 x 3`` BGR, from smoothed box centres and sizes."""
    kernel = min(13, len(boxes) - (1 - len(boxes) % 2))  # odd, at most the track's length
    size = medfilt(np.array([max(b.width, b.height) / 2 for b in boxes]), kernel)
    cx = medfilt(np.array([b.center[0] for b in boxes]), kernel)
    cy = medfilt(np.array([b.center[1] for b in boxes]), kernel)
    crops = np.empty((len(images), 224, 224, 3), np.uint8)
    for i, image in enumerate(images):
        bs = size[i]
        pad = int(bs * (1 + 2 * CROP_SCALE))
        bgr = np.pad(image[..., ::-1], ((pad, pad), (pad, pad), (0, 0)), constant_values=110)
        my, mx = cy[i] + pad, cx[i] + pad
        rows = slice(int(my - bs), int(my + bs * (1 + 2 * CROP_SCALE)))
        cols = slice(int(mx - bs * (1 + CROP_SCALE)), int(mx + bs * (1 + CROP_SCALE)))
        face = bgr[rows, cols]
        crops[i] = cv2.resize(np.ascontiguousarray(face), (224, 224))
    return crops


class SyncNetScorer:
    name = "syncnet"
    confidence_threshold = CONFIDENCE_THRESHOLD

    def __init__(self, models_dir: Path, *, face_track: FaceTrack | None = None, batch: int = 20) -> None:
        """``face_track`` replaces S3FD (which then needs no weights), e.g. with ``qa.embedded.track_faces``."""
        net_path, sfd_path = syncnet_files(models_dir)
        needed = [net_path] + ([] if face_track else [sfd_path])
        missing = [str(p.relative_to(models_dir)) for p in needed if not p.exists()]
        if missing:
            raise ModelMissingError("syncnet", f"missing in MODELS_DIR: {', '.join(missing)} "
                                    "(the files of syncnet_python's download_model.sh)")
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.net: SyncNet = load_syncnet(net_path).to(self.device)
        self.face_track: FaceTrack = face_track or S3fdTrack(S3FD(sfd_path), fallback=track_faces)
        self.batch = batch

    def score(self, clip_path: Path) -> SyncScore:
        clip = decode_clip(clip_path)
        return self.score_media(clip.images, clip.audio, clip.fps, clip.sample_rate)

    @torch.no_grad()
    def score_media(self, images: Sequence[Image], audio: Samples, fps: float, sample_rate: int) -> SyncScore:
        if round(fps) != 25 or sample_rate != 16000:
            raise ClipError("clip_format", "SyncNet scores 25 fps video with 16 kHz audio.")
        frames = min(len(images), len(audio) // 640)
        if frames < WINDOW + 1:
            raise ClipError("clip_too_short", "The clip is too short to score.")
        crops = face_crops(images[:frames], self.face_track(images[:frames]))
        video = torch.from_numpy(crops).permute(3, 0, 1, 2).float()  # 3 x T x 224 x 224
        cepstra = torch.from_numpy(mfcc(audio * 32768.0, sample_rate).T.copy()).float()  # 13 x T', 100 per second
        lip, aud = [], []
        for start in range(0, frames - WINDOW, self.batch):
            idx = range(start, min(frames - WINDOW, start + self.batch))
            lips = torch.stack([video[:, i : i + WINDOW] for i in idx])
            sounds = torch.stack([cepstra[None, :, i * 4 : i * 4 + 20] for i in idx])  # 4 MFCC frames per video frame
            lip.append(self.net.forward_lip(lips.to(self.device)).cpu())
            aud.append(self.net.forward_aud(sounds.to(self.device)).cpu())
        return offset_from_embeddings(torch.cat(lip), torch.cat(aud), self.name)


def offset_from_embeddings(lip: torch.Tensor, aud: torch.Tensor, scorer: str = "syncnet") -> SyncScore:
    """syncnet_python's ``calc_pdist`` and statistics over per-window embeddings (``N x D`` each)."""
    shift = MAX_OFFSET_FRAMES
    padded = torch.nn.functional.pad(aud, (0, 0, shift, shift))
    # dists[i, j]: window i of video against window i + j - shift of audio (zeros past the ends)
    dists = torch.stack([torch.nn.functional.pairwise_distance(lip[[i]].expand(2 * shift + 1, -1), padded[i : i + 2 * shift + 1])
                         for i in range(len(lip))])
    mean = dists.mean(dim=0)
    best = int(torch.argmin(mean))
    return SyncScore(
        scorer=scorer,
        offset_frames=best - shift,  # audio window i + k matches video window i: the audio is k frames late
        confidence=round(float(mean.median() - mean[best]), 4),
        min_dist=round(float(mean[best]), 4),
    )
