"""A video avatar's idle loop: a few seconds of the video played under the drawn mouth and eyes.

Preparation keeps up to ``LOOP_SECONDS`` of the video framed like the still (the rig's crop, at the
output size) and tracks the face in each frame against the still:
corners in the face are followed by pyramidal Lucas-Kanade flow from the still to the frame (no
drift) and fitted by a similarity transform, smoothed over neighbouring frames. Playback is
ping-pong (forward, then backward), so the loop point is one ordinary step.

Drawing: the feature region of the current frame is pulled into the still's coordinates, the mouth
and eyes are drawn there by the photo's own :class:`FaceWarper`, and the patch is pushed back onto
the frame, feathered, where the drawing changed it. Frames without a drawn feature are the video's frames as they are.
"""
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.base import RENDER_FPS
from avatar_runtime.render.portrait.animator import Pose
from avatar_runtime.render.portrait.prepare import PortraitAvatar
from avatar_runtime.render.portrait.visemes import REST
from avatar_runtime.render.portrait.warp import FaceWarper

logger = logging.getLogger(__name__)

LOOP_SECONDS = 4.0  # 100 frames of 512x512 RGB: 79 MB, shared by the sessions of a process
LOOP_VERSION = 1
MIN_POINTS = 8  # tracked face corners a frame needs to count as tracked
SMOOTH_FRAMES = 2  # the transforms are averaged over this many frames on each side
FEATHER = 0.12  # of the feature region's size: the drawn patch fades into the frame over this border
Transforms = npt.NDArray[np.float32]  # (n, 2, 3): still (output pixels) -> loop frame (output pixels)


@dataclass(frozen=True)
class IdleLoop:
    frames: npt.NDArray[np.uint8]  # (n, size, size, 3) RGB
    transforms: Transforms

    def __len__(self) -> int:
        return len(self.frames)

    def index(self, frame: int) -> int:
        """The loop frame shown at output frame ``frame``: forward, then backward (ping-pong)."""
        n = len(self.frames)
        if n < 2:
            return 0
        k = frame % (2 * n - 2)
        return k if k < n else 2 * n - 2 - k


def _frame_transform(avatar: PortraitAvatar) -> npt.NDArray[np.float32]:
    rig = avatar.rig
    s = rig.scale
    return np.array([[s, 0, -rig.crop.x0 * s], [0, s, -rig.crop.y0 * s]], np.float32)


def _frames(data: bytes, transform: npt.NDArray[np.float32], size: int, fps: int) -> Iterator[Image]:
    """The video's frames framed like the still, one per ``1/fps`` (repeated or skipped as needed)."""
    shown = 0
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            at = float(frame.time or 0.0)
            if shown / fps > at + 1e-6:
                continue
            framed = np.asarray(cv2.warpAffine(frame.to_ndarray(format="rgb24"), transform, (size, size),
                                               flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE), np.uint8)
            while shown / fps <= at + 1e-6:
                shown += 1
                yield framed


class _Tracker:
    """Follows the still's face corners into a frame: a similarity transform, or None when lost."""

    def __init__(self, still: Image, face: tuple[slice, slice]) -> None:
        self._ref = cv2.cvtColor(still, cv2.COLOR_RGB2GRAY)
        mask = np.zeros_like(self._ref)
        mask[face] = 255
        self._points = cv2.goodFeaturesToTrack(self._ref, maxCorners=80, qualityLevel=0.01, minDistance=5, mask=mask)

    def __call__(self, frame: Image) -> npt.NDArray[np.float64] | None:
        points = self._points
        if points is None or len(points) < MIN_POINTS:
            return None
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(self._ref, gray, points, None, winSize=(31, 31), maxLevel=4)  # type: ignore[call-overload]
        back, back_status, _ = cv2.calcOpticalFlowPyrLK(gray, self._ref, moved, None, winSize=(31, 31), maxLevel=4)  # type: ignore[call-overload]
        error = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
        good = (status.reshape(-1) == 1) & (back_status.reshape(-1) == 1) & (error < 1.0)
        if good.sum() < max(MIN_POINTS, 0.5 * len(points)):
            return None
        matrix, inliers = cv2.estimateAffinePartial2D(points[good], moved[good], method=cv2.RANSAC,
                                                      ransacReprojThreshold=2.0)
        if matrix is None or inliers.sum() < 0.5 * good.sum():
            return None
        return np.asarray(matrix, np.float64)


def _smoothed(matrices: list[npt.NDArray[np.float64]]) -> Transforms:
    """The transforms averaged over ``SMOOTH_FRAMES`` neighbours each side (tracking jitter removed)."""
    raw = np.array([(m[0, 0], m[1, 0], m[0, 2], m[1, 2]) for m in matrices], np.float64)  # [[a, -b, tx], [b, a, ty]]
    kernel = np.ones(2 * SMOOTH_FRAMES + 1) / (2 * SMOOTH_FRAMES + 1)
    # odd reflection at the ends continues the motion (edge padding would hold it back there)
    ends = ((SMOOTH_FRAMES, SMOOTH_FRAMES), (0, 0))
    padded = np.pad(raw, ends, mode="reflect", reflect_type="odd") if len(raw) > SMOOTH_FRAMES else np.pad(raw, ends, mode="edge")
    a, b, tx, ty = (np.convolve(padded[:, j], kernel, mode="valid") for j in range(4))
    return np.stack([np.stack([a, -b, tx], 1), np.stack([b, a, ty], 1)], 1).astype(np.float32)


def build_idle_loop(data: bytes, avatar: PortraitAvatar, *, fps: int = RENDER_FPS) -> IdleLoop:
    """The loop of ``data`` (the video ``avatar``'s still was taken from), framed and tracked.

    The loop is the first run of ``LOOP_SECONDS`` in which the face is tracked in every frame, or
    the longest such run when none is that long; the still alone when the face is never followed.
    Memory stays within two loops' frames whatever the video's length.
    """
    size = avatar.rig.settings.output_size
    transform = _frame_transform(avatar)
    still = np.asarray(cv2.warpAffine(avatar.image, transform, (size, size), flags=cv2.INTER_AREA,
                                      borderMode=cv2.BORDER_REPLICATE), np.uint8)
    track = _Tracker(still, avatar.rig.to_output(avatar.rig.face).clip(size, size).slices())
    limit = int(LOOP_SECONDS * fps)
    best: list[tuple[Image, npt.NDArray[np.float64]]] = []
    run: list[tuple[Image, npt.NDArray[np.float64]]] = []
    for frame in _frames(data, transform, size, fps):
        matrix = track(frame)
        if matrix is None:
            run = []
            continue
        run.append((frame, matrix))
        if len(run) > len(best):
            best = run
        if len(run) >= limit:
            break
    if not best:
        best = [(still, np.array([[1, 0, 0], [0, 1, 0]], np.float64))]
    return IdleLoop(np.stack([f for f, _ in best]), _smoothed([m for _, m in best]))


def _cache_key(data: bytes, avatar: PortraitAvatar) -> str:
    blob = json.dumps([LOOP_VERSION, LOOP_SECONDS, hashlib.sha256(data).hexdigest(), avatar.rig.crop.as_list(),
                       avatar.rig.settings.as_dict()])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def idle_loop(data: bytes, avatar: PortraitAvatar, *, cache_dir: Path) -> IdleLoop:
    """The idle loop of video ``data``, from ``cache_dir`` when prepared before (else built and stored there)."""
    path = cache_dir / f"loop-{_cache_key(data, avatar)}.npz"
    if path.exists():
        try:
            with np.load(path) as stored:
                return IdleLoop(stored["frames"], stored["transforms"])
        except (OSError, ValueError, KeyError):
            logger.warning("idle loop cache %s is unreadable; preparing again", path.name)
    loop = build_idle_loop(data, avatar)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, frames=loop.frames, transforms=loop.transforms)
    tmp.replace(path)
    logger.info("idle loop prepared: %d frames", len(loop))
    return loop


def _feather(rows: int, cols: int) -> npt.NDArray[np.float32]:
    def ramp(n: int) -> npt.NDArray[np.float32]:
        edge = max(FEATHER * n, 1.0)
        x = np.arange(n, dtype=np.float32) + 0.5
        return np.clip(np.minimum(x, n - x) / edge, 0, 1).astype(np.float32)

    return np.outer(ramp(rows), ramp(cols)).astype(np.float32)


class LoopCompositor:
    """Draws a pose's mouth and eyes onto the frames of an :class:`IdleLoop`."""

    def __init__(self, loop: IdleLoop, warper: FaceWarper) -> None:
        self.loop = loop
        self._warper = warper
        self._region = warper.feature_region
        rows, cols = self._region
        self._canvas = warper.base.copy()  # the still, with the current frame's feature region pulled in
        self._mask = _feather(rows.stop - rows.start, cols.stop - cols.start)
        self._grow = np.ones((5, 5), np.uint8)
        self._origin = np.array([[1, 0, cols.start], [0, 1, rows.start], [0, 0, 1]], np.float64)

    def draw(self, pose: Pose, frame: int) -> Image:
        k = self.loop.index(frame)
        image = self.loop.frames[k]
        if pose.mouth == REST and pose.blink <= 0 and pose.gaze == (0.0, 0.0) and pose.brow <= 0:
            return image.copy()
        rows, cols = self._region
        size = (cols.stop - cols.start, rows.stop - rows.start)
        # patch pixel -> still pixel -> loop frame pixel
        to_frame = np.vstack([self.loop.transforms[k].astype(np.float64), [0, 0, 1]]) @ self._origin
        pulled = cv2.warpAffine(image, to_frame[:2], size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REPLICATE)
        self._canvas[rows, cols] = pulled
        self._warper.draw_features(self._canvas, pose)
        patch = self._canvas[rows, cols]
        # only what the features changed goes back (the rest of the frame is not resampled twice)
        changed = (cv2.absdiff(patch, pulled).max(axis=2) > 1).astype(np.float32)
        changed = cv2.GaussianBlur(cv2.dilate(changed, self._grow), (0, 0), 2.0)
        weight = np.minimum(changed * 2.0, 1.0) * self._mask
        height, width = image.shape[:2]
        corners = cv2.transform(np.array([[[0, 0], [size[0], 0], [0, size[1]], [size[0], size[1]]]], np.float64),
                                to_frame[:2])[0]
        x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, [width, height])
        x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int), 0, [width, height])
        if x1 <= x0 or y1 <= y0:
            return image.copy()
        place = (np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ to_frame)[:2]
        drawn = cv2.warpAffine(patch, place, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(weight, place, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
        out = image.copy()
        below = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = (below + mask * (drawn.astype(np.float32) - below) + 0.5).astype(np.uint8)
        return out
