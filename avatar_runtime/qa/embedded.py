"""A lip-sync score that needs no model weights: mouth darkness against the speech envelope.

An open mouth shows its dark interior; speech is loud while the mouth is open. So, per video
frame, we measure how dark the mouth region is (face found by ``render.face`` on a few frames,
the mouth box placed from it and interpolated in between) and how loud the audio is, remove
slow trends from both, and correlate them at every offset within +-15 frames, like SyncNet
compares its embeddings. The best offset is the answer; its confidence is how far the peak
correlation stands above the median over all offsets (SyncNet's "median minus minimum distance"
with correlation in place of distance), and ``min_dist`` is the distance between the two
normalised signals at that offset, ``sqrt(2 (1 - r))``.
"""
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d

from avatar_runtime.pipeline.messages import Image, Samples
from avatar_runtime.qa.base import MAX_OFFSET_FRAMES, SyncScore
from avatar_runtime.qa.media import ClipError, decode_clip
from avatar_runtime.render.face import Box, detect_faces, locate_features

Signal = npt.NDArray[np.float64]

# Confidence separating matched from unrelated audio (bench/qa_scorer.py, portrait clips of 5-8 s in
# five languages): own audio shifted by up to 8 frames scores 0.80-1.05; another utterance's audio
# 0.09-0.29 (up to 0.39 on a 2.4 s clip, where the correlation is noisier, and own audio ~0.7).
# 0.5 sits in the middle of the gap.
CONFIDENCE_THRESHOLD = 0.5
FACE_SAMPLES = 8  # frames on which faces are detected; boxes are interpolated in between
MIN_FRAMES = 2 * MAX_OFFSET_FRAMES + 10
TREND_S = 1.0  # slower changes (lighting, head motion, loudness of whole phrases) are removed


def _standardise(x: Signal, window: int) -> Signal:
    detrended = x - uniform_filter1d(x, size=max(window, 1), mode="nearest")
    return (detrended - detrended.mean()) / (detrended.std() + 1e-9)


def track_faces(images: Sequence[Image], samples: int = FACE_SAMPLES) -> list[Box]:
    """Per frame, the speaker's face box: detected on ``samples`` frames, interpolated in between."""
    picks = np.unique(np.linspace(0, len(images) - 1, min(samples, len(images))).round().astype(int))
    found: list[tuple[int, Box]] = []
    for i in picks:
        image = images[int(i)]
        faces = detect_faces(image, min_face=max(80, min(image.shape[:2]) // 8)) or detect_faces(image, min_face=40)
        if faces:
            found.append((int(i), faces[0].box))
    if not found:
        raise ClipError("clip_no_face", "No face was found in the clip.")
    at = np.array([i for i, _ in found], np.float64)
    frames = np.arange(len(images), dtype=np.float64)
    x0, y0, x1, y1 = (np.interp(frames, at, [getattr(b, side) for _, b in found]) for side in ("x0", "y0", "x1", "y1"))
    return [Box(*v) for v in zip(x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist(), strict=True)]


def mouth_boxes(images: Sequence[Image]) -> list[Box]:
    """Per frame, the box the mouth moves in, placed relative to the tracked face."""
    faces = track_faces(images)
    middle = len(images) // 2
    mouth = locate_features(images[middle], faces[middle]).mouth
    ref = faces[middle]
    # the mouth relative to the face, so that it follows the face from frame to frame
    dx, dy = (mouth.center[0] - ref.center[0]) / ref.width, (mouth.y0 - ref.center[1]) / ref.width
    mw, mh = mouth.width / ref.width, mouth.height / ref.width
    boxes = []
    for face in faces:
        w, (cx, cy) = face.width, face.center
        x, top = cx + dx * w, cy + dy * w
        # the lower lip travels down by up to a third of the mouth's width when it opens
        boxes.append(Box(x - 0.6 * mw * w, top - 0.1 * mh * w, x + 0.6 * mw * w, top + mh * w + 0.35 * mw * w))
    return boxes


def mouth_signal(images: Sequence[Image]) -> Signal:
    """Per frame, the mean darkness of the mouth region (rises as the mouth opens)."""
    values = np.empty(len(images))
    for i, (image, box) in enumerate(zip(images, mouth_boxes(images), strict=True)):
        rows, cols = box.clip(image.shape[1], image.shape[0]).slices()
        patch = cv2.cvtColor(np.ascontiguousarray(image[rows, cols]), cv2.COLOR_RGB2GRAY)
        values[i] = 255.0 - float(cv2.resize(patch, (32, 24), interpolation=cv2.INTER_AREA).mean())
    return values


def speech_envelope(audio: Samples, sample_rate: int, fps: float, frames: int) -> Signal:
    """Per video frame, the loudness (dB) of the audio that plays with it."""
    edges = np.round(np.arange(frames + 1) * sample_rate / fps).astype(int)
    padded = np.concatenate([audio, np.zeros(max(0, edges[-1] - len(audio)), np.float32)]).astype(np.float64)
    power = np.add.reduceat(padded[: edges[-1]] ** 2, edges[:-1]) / np.diff(edges)
    return 10 * np.log10(np.maximum(power, 1e-6))


def lagged_correlation(video: Signal, audio: Signal, max_lag: int) -> Signal:
    """``r[L + max_lag]`` = correlation of ``video[t]`` with ``audio[t + L]`` over their overlap."""
    out = np.zeros(2 * max_lag + 1)
    n = len(video)
    for j, lag in enumerate(range(-max_lag, max_lag + 1)):
        v = video[max(0, -lag) : n - max(0, lag)]
        a = audio[max(0, lag) : n + min(0, lag)]
        if len(v) > 2 and v.std() > 0 and a.std() > 0:
            out[j] = float(np.corrcoef(v, a)[0, 1])
    return out


def _check_length(frames: int) -> None:
    if frames < MIN_FRAMES:
        raise ClipError("clip_too_short", f"Clips need at least {MIN_FRAMES} frames to be scored.")


class EmbeddedScorer:
    name = "embedded"
    confidence_threshold = CONFIDENCE_THRESHOLD

    def score(self, clip_path: Path) -> SyncScore:
        clip = decode_clip(clip_path)
        return self.score_media(clip.images, clip.audio, clip.fps, clip.sample_rate)

    def score_media(self, images: Sequence[Image], audio: Samples, fps: float, sample_rate: int) -> SyncScore:
        _check_length(len(images))
        return self.score_signal(mouth_signal(images), audio, fps, sample_rate)

    def score_signal(self, mouth: Signal, audio: Samples, fps: float, sample_rate: int) -> SyncScore:
        """``score_media`` from the clip's ``mouth_signal`` (which does not depend on the audio): scoring
        one clip's frames against many soundtracks tracks its face once."""
        _check_length(len(mouth))
        window = round(TREND_S * fps)
        video = _standardise(mouth, window)
        sound = _standardise(speech_envelope(audio, sample_rate, fps, len(mouth)), window)
        curve = lagged_correlation(video, sound, MAX_OFFSET_FRAMES)
        best = int(np.argmax(curve))
        peak = float(curve[best])
        return SyncScore(
            scorer=self.name,
            offset_frames=best - MAX_OFFSET_FRAMES,
            confidence=round(peak - float(np.median(curve)), 4),
            min_dist=round(float(np.sqrt(2 * max(0.0, 1 - peak))), 4),
        )
