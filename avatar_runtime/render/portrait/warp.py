"""Image warps that turn a still portrait into a talking face; a frame costs a few ms.

Mouth: jaw, width and lip closure, drawn per frame by :mod:`.mouth`.

Eyes: a blink stretches the upper eyelid's skin down over the eye (``BLINK_LEVELS`` steps); a
gaze shifts what lies inside the eye (the iris) and a raised brow lifts the skin above it.

Head: a small rotation and translation, applied with a soft mask so the head moves and the
shoulders stay. This one is computed per frame (it is continuous), on the head's box only: the
displacement on a grid ``HEAD_GRID_STEP`` times coarser, interpolated to every pixel (it is smooth).
"""
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.face import Box
from avatar_runtime.render.portrait.animator import Pose
from avatar_runtime.render.portrait.mouth import MouthGeometry, MouthWarp
from avatar_runtime.render.portrait.visemes import REST

Floats = npt.NDArray[np.float32]

BLINK_LEVELS = 10
# The head's displacement is smooth (a rotation and shift faded by a wide mask): computed on a grid this
# many pixels apart, it differs from the exact one by under 0.15 px (at the mask's edge; under 0.04 px on
# 99 % of the head), and an idle frame (mostly this warp) costs 40 % less (bench/results/load_kiosks_s31.md).
# That holds for every photo: the rig frames each face at least 160 px wide (512 px frames, ``crop_scale`` 3.2;
# wider where the photo is tight around it), and a wider face has a wider, smoother mask.
HEAD_GRID_STEP = 8


def _smoothstep(x: npt.NDArray[np.floating]) -> Floats:
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    return (x * x * (3 - 2 * x)).astype(np.float32)


@dataclass(frozen=True)
class _Layer:
    """One precomputed warp of a region, as fixed-point maps (cv2.convertMaps' form: remap reads it fastest)."""

    map1: npt.NDArray[np.int16]
    map2: npt.NDArray[np.uint16]


def _layer(map_x: Floats, map_y: Floats) -> _Layer:
    map1, map2 = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    return _Layer(np.asarray(map1, np.int16), np.asarray(map2, np.uint16))


class FaceWarper:
    """Draws one frame of the portrait for a :class:`Pose`."""

    def __init__(self, base: Image, geometry: MouthGeometry, eyes: tuple[Box, Box]) -> None:
        self.base = base
        height, width = base.shape[:2]
        face = geometry.face
        self._mouth = MouthWarp(base, geometry)
        self._eyes = [(region, self._blink_levels(eye, region)) for eye in eyes
                      for region in [self._region(eye.expand(1.6, 2.6), width, height)]]
        self._looks = [self._look_init(eye, self._region(eye.expand(1.8, 5.0), width, height)) for eye in eyes]
        self._head_region = self._region(face.expand(3.0, 3.2), width, height)
        self._head_init(face)

    @staticmethod
    def _region(box: Box, width: int, height: int) -> tuple[slice, slice]:
        rows, cols = box.clip(width, height).slices()
        return slice(max(rows.start, 0), min(rows.stop, height)), slice(max(cols.start, 0), min(cols.stop, width))

    def _grid(self, region: tuple[slice, slice]) -> tuple[Floats, Floats]:
        rows, cols = region
        ys, xs = np.mgrid[rows.start : rows.stop, cols.start : cols.stop].astype(np.float32)
        return xs, ys

    def _blink_levels(self, eye: Box, region: tuple[slice, slice]) -> list[_Layer]:
        xs, ys = self._grid(region)
        cx, cy = eye.center
        top = eye.y0 - 0.6 * eye.height  # skin above the eye that stretches down as the lid
        lower_lid = cy + 0.22 * eye.height
        travel = 0.45 * eye.height  # upper lid to lower lid
        across = np.clip(1 - ((xs - cx) / (0.62 * eye.width)) ** 2, 0, 1) ** 1.5
        stretch = np.clip((ys - top) / (lower_lid - top), 0, 1) * (ys <= lower_lid)
        layers = []
        for level in range(BLINK_LEVELS):
            closure = level / (BLINK_LEVELS - 1)
            layers.append(_layer(xs, (ys - closure * travel * across * stretch).astype(np.float32)))
        return layers

    def _look_init(self, eye: Box, region: tuple[slice, slice]) -> tuple[tuple[slice, slice], Floats, Floats, Floats,
                                                                           Floats, Floats]:
        """Per eye: its region's grid, where the iris moves with the gaze (scaled to pixels per unit of gaze),
        and where the brow lifts (pixels per unit of raise)."""
        xs, ys = self._grid(region)
        cx, cy = eye.center
        radius = np.sqrt(((xs - cx) / (0.5 * eye.width)) ** 2 + ((ys - cy) / (0.5 * eye.height)) ** 2)
        iris = 1 - _smoothstep((radius - 0.45) / 0.55)
        brow_y = eye.y0 - 0.9 * eye.height
        brow = np.exp(-0.5 * (((xs - cx) / (0.75 * eye.width)) ** 2 + ((ys - brow_y) / (0.7 * eye.height)) ** 2))
        return (region, xs, ys, (iris * eye.width).astype(np.float32), (iris * eye.height).astype(np.float32),
                (brow * 0.3 * eye.height).astype(np.float32))

    def _look(self, frame: Image, pose: Pose) -> None:
        gx, gy = pose.gaze
        for region, xs, ys, iris_x, iris_y, brow in self._looks:
            # backward maps: the iris's content moves by the gaze, the brow's skin moves up
            map_x = xs - gx * iris_x
            map_y = ys - gy * iris_y + pose.brow * brow
            rows, cols = region
            frame[rows, cols] = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def _head_init(self, face: Box) -> None:
        xs, ys = self._grid(self._head_region)
        cx, cy = face.center[0], face.center[1] - 0.1 * face.height
        radius = np.sqrt(((xs - cx) / (1.05 * face.width)) ** 2 + ((ys - cy) / (1.3 * face.height)) ** 2)
        weight = 1 - _smoothstep((radius - 1.0) / 0.55)
        self._pivot = (face.center[0], face.y1 + 0.3 * face.height)  # the neck
        px, py = self._pivot
        height, width = xs.shape
        coarse = (max(2, round(width / HEAD_GRID_STEP)), max(2, round(height / HEAD_GRID_STEP)))
        # the mask's share, and its share times the offset from the neck, on the coarse grid
        self._head_w, self._head_wx, self._head_wy = (
            np.asarray(cv2.resize(field.astype(np.float32), coarse, interpolation=cv2.INTER_AREA), np.float32)
            for field in (weight, weight * (xs - px), weight * (ys - py)))
        self._head_xy = (xs, ys)

    def _apply(self, frame: Image, region: tuple[slice, slice], layer: _Layer, *, source: Image | None = None) -> None:
        """``region`` of ``frame`` warped by ``layer``, reading from ``source`` (default: ``frame`` itself)."""
        rows, cols = region
        frame[rows, cols] = cv2.remap(frame if source is None else source, layer.map1, layer.map2, cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)

    def draw(self, pose: Pose) -> Image:
        frame = self.base.copy()
        self.draw_features(frame, pose)
        return self._move_head(frame, pose)

    @property
    def feature_region(self) -> tuple[slice, slice]:
        """The rows and columns that :meth:`draw_features` may change (mouth, eyes, brows)."""
        regions = [(self._mouth.rows, self._mouth.cols), *(r for r, _ in self._eyes), *(look[0] for look in self._looks)]
        return (slice(min(r.start for r, _ in regions), max(r.stop for r, _ in regions)),
                slice(min(c.start for _, c in regions), max(c.stop for _, c in regions)))

    def draw_features(self, frame: Image, pose: Pose) -> None:
        """Mouth, blink, gaze and brows drawn into ``frame`` in place (no head motion)."""
        if pose.mouth != REST:
            self._mouth.draw(frame, pose.mouth)
        closure = round(float(np.clip(pose.blink, 0, 1)) * (BLINK_LEVELS - 1))
        if closure:
            for region, layers in self._eyes:
                self._apply(frame, region, layers[closure])
        if pose.gaze != (0.0, 0.0) or pose.brow > 0:
            self._look(frame, pose)

    def _move_head(self, frame: Image, pose: Pose) -> Image:
        # backward map: each output pixel reads from its position rotated back about the neck and shifted,
        # by the mask's share (1 on the head, fading to 0 over the shoulders and background)
        theta = np.deg2rad(pose.angle)
        cos_t, sin_t = float(np.cos(theta)), float(np.sin(theta))
        shift_x = (cos_t - 1) * self._head_wx + sin_t * self._head_wy - pose.dx * self._head_w
        shift_y = -sin_t * self._head_wx + (cos_t - 1) * self._head_wy - pose.dy * self._head_w
        xs, ys = self._head_xy
        size = (xs.shape[1], xs.shape[0])
        map_x = xs + cv2.resize(shift_x, size, interpolation=cv2.INTER_LINEAR)
        map_y = ys + cv2.resize(shift_y, size, interpolation=cv2.INTER_LINEAR)
        layer = _layer(map_x, map_y)  # fixed point: converting and remapping beats remapping the float maps
        out = frame.copy()
        self._apply(out, self._head_region, layer, source=frame)
        return out
