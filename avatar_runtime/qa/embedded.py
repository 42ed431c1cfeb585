"""A lip-sync score that needs no model weights: how far the lips part against the speech envelope.

Speech is loud while the mouth is open. So, per video frame, we measure how far the lower lip has
dropped (face found by ``render.face`` on a few frames, the mouth placed from it and interpolated in
between) and how loud the audio is, remove slow trends from both, and correlate them at every
offset within +-15 frames, like SyncNet compares its embeddings. The best offset is the answer; its
confidence is how far the peak correlation stands above the median over all offsets (SyncNet's
"median minus minimum distance" with correlation in place of distance), and ``min_dist`` is the
distance between the two normalised signals at that offset, ``sqrt(2 (1 - r))``.

The lip's drop is the vertical opening, not the mouth's area or darkness: a rounded "o" is open but
narrow, a spread "i" wide but nearly shut, and what the audio's loudness follows is the opening. It is
found by matching the lower lip and chin, in a strip at the mouth's centre that the corners never
reach, against the same strip of the clip's most closed frame.
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

# Confidence separating matched from unrelated audio, fitted on the tuning clips only (bench/qa_scorer.py
# --tuning: the portrait rendered for espeak-ng, Kokoro and real speakers' audio, 4-10 s each): own audio
# shifted by up to 8 frames scores 0.68 and up, another clip's audio up to 0.62 (short Kokoro clips in
# one voice; espeak-ng and real speech up to 0.50). 0.65 sits in the middle of that gap.
CONFIDENCE_THRESHOLD = 0.65
FACE_SAMPLES = 8  # frames on which faces are detected; boxes are interpolated in between
MIN_FRAMES = 2 * MAX_OFFSET_FRAMES + 10
TREND_S = 1.0  # slower changes (lighting, head motion, loudness of whole phrases) are removed
# The lower lip is found in a strip this far either side of the mouth's centre (in mouth widths), where
# rounding and spreading move the lips little; the template spans the lower lip and the skin below it.
# The nose, found the same way in a wider strip, says where the face is: face detections jump by up to
# a third of a mouth width from one sample to the next, which the lip's own motion must not absorb.
CANON = 96  # strip pixels per mouth width
STRIP_HALF_WIDTH, NOSE_HALF_WIDTH = 0.3, 0.45
LIP_MARGIN, TEMPLATE_H = 0.12, 0.35  # the lip template starts this far below the lip line
SEARCH_UP, SEARCH_DOWN = 0.25, 0.45  # how far the lip is looked for above / below its closed place
NOSE = (1.0, 0.5)  # the nose template's rows, in mouth widths above the lip line
JITTER = 0.4  # how far the face box may be off, in mouth widths
# the strip's rows, in canonical pixels: the resting lip line at _LINE
_J, _GAP, _TEMPLATE = round(JITTER * CANON), round(LIP_MARGIN * CANON), round(TEMPLATE_H * CANON)
_UP, _DOWN = round(SEARCH_UP * CANON), round(SEARCH_DOWN * CANON)
_NOSE_TOP, _NOSE_BOTTOM = _J, _J + round((NOSE[0] - NOSE[1]) * CANON)
_LINE = _J + round(NOSE[0] * CANON)
_HEIGHT, _WIDTH = _LINE + _GAP + _TEMPLATE + _DOWN + _J, round(2 * NOSE_HALF_WIDTH * CANON)
_LIP_COLS = slice(round((NOSE_HALF_WIDTH - STRIP_HALF_WIDTH) * CANON), round((NOSE_HALF_WIDTH + STRIP_HALF_WIDTH) * CANON))

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


def mouth_strips(images: Sequence[Image]) -> tuple[npt.NDArray[np.float32], float]:
    """Per frame, the grey strip through the middle of the mouth at a canonical scale (``CANON`` pixels per
    mouth width; it follows the tracked face), and the mouth's width in face widths."""
    faces = track_faces(images)
    middle = len(images) // 2
    ref = faces[middle]
    mouth = locate_features(images[middle], ref).mouth
    # the mouth relative to the face, so that it follows the face from frame to frame
    dx, dy = (mouth.center[0] - ref.center[0]) / ref.width, (mouth.center[1] - ref.center[1]) / ref.width
    mouth_width = mouth.width / ref.width
    out = np.empty((len(images), _HEIGHT, _WIDTH), np.float32)
    for i, (image, face) in enumerate(zip(images, faces, strict=True)):
        scale = CANON / (mouth_width * face.width)
        x0 = face.center[0] + dx * face.width - NOSE_HALF_WIDTH * CANON / scale
        y0 = face.center[1] + dy * face.width - _LINE / scale
        to_strip = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        out[i] = cv2.warpAffine(grey, to_strip, (_WIDTH, _HEIGHT), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    return out, mouth_width


def _best_row(match: npt.ArrayLike) -> float:
    """Sub-pixel row of the best match in a one-column ``cv2.matchTemplate`` result (a parabola through
    the peak and its neighbours)."""
    r = np.asarray(match, np.float64)[:, 0]
    i = int(np.argmax(r))
    if 0 < i < len(r) - 1 and (curve := r[i - 1] - 2 * r[i] + r[i + 1]) < 0:
        return i + 0.5 * float(r[i - 1] - r[i + 1]) / float(curve)
    return float(i)


def _match_row(strip: npt.NDArray[np.float32], template: npt.NDArray[np.float32], top: int) -> float:
    """The row of ``strip`` (searched from ``top`` down) where ``template``, as wide as the strip, fits best."""
    return top + _best_row(cv2.matchTemplate(strip[top : top + len(template) + 2 * _J], template, cv2.TM_CCOEFF_NORMED))


def mouth_signal(images: Sequence[Image]) -> Signal:
    """Per frame, how far the lower lip has dropped below its place in the most closed frame (relative to
    the nose), in face widths."""
    strips, mouth_width = mouth_strips(images)
    nose = strips[len(strips) // 2, _NOSE_TOP:_NOSE_BOTTOM]
    face = np.array([_match_row(strip, nose, 0) - _NOSE_TOP for strip in strips])  # where the face is, per frame
    at = np.round(face).astype(int)
    # the most closed frame: the brightest band along the lip line (no dark gap between the lips)
    bands = [strip[_LINE + k - _GAP : _LINE + k + _GAP, _LIP_COLS].mean() for strip, k in zip(strips, at, strict=True)]
    closed = int(np.argmax(bands))
    top = _LINE + _GAP + at[closed]
    template = strips[closed, top : top + _TEMPLATE, _LIP_COLS]
    values = np.empty(len(images))
    for i, (strip, k) in enumerate(zip(strips, at, strict=True)):
        start = _LINE + _GAP - _UP + k
        window = strip[start : start + _UP + _TEMPLATE + _DOWN, _LIP_COLS]
        lip = start + _best_row(cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED))
        values[i] = (lip - face[i] - (top - face[closed])) / CANON * mouth_width
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
