"""Image warps that turn a still portrait into a talking face, precomputed so a frame costs ~ms.

Mouth: the lips part along the lip line; everything below it (lower lip, chin, jaw line) moves
down with a displacement that is widest at the lips' centre and spreads over the jaw, fading
into the cheeks and the neck; the upper lip lifts a little. The gap between the lips is filled
with a shaded mouth interior (tongue, and a teeth hint when the photo shows none). All of this
is precomputed for ``MOUTH_LEVELS`` openings; a frame picks the nearest one.

Eyes: a blink stretches the upper eyelid's skin down over the eye (``BLINK_LEVELS`` steps).

Head: a small rotation and translation, applied with a soft mask so the head moves and the
shoulders stay. This one is computed per frame (it is continuous), on the head's box only.
"""
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.face import Box
from avatar_runtime.render.portrait.animator import Pose

Floats = npt.NDArray[np.float32]

MOUTH_LEVELS = 32
BLINK_LEVELS = 10
GAP_PER_WIDTH = 0.3  # lip gap at full opening, in mouth widths
UPPER_SHARE = 0.22  # of the gap, taken by the upper lip moving up (the jaw does the rest)


def _smoothstep(x: npt.NDArray[np.floating]) -> Floats:
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    return (x * x * (3 - 2 * x)).astype(np.float32)


@dataclass(frozen=True)
class _Layer:
    """One precomputed warp of a region: fixed-point maps plus an optional painted overlay."""

    map1: npt.NDArray[np.int16]  # cv2.convertMaps' fixed-point form: remap reads it fastest
    map2: npt.NDArray[np.uint16]
    alpha: Floats | None = None  # H x W x 1, where the overlay covers the warped pixels
    overlay: Floats | None = None  # H x W x 3


def _layer(map_x: Floats, map_y: Floats, alpha: Floats | None = None, overlay: Floats | None = None) -> _Layer:
    map1, map2 = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    return _Layer(np.asarray(map1, np.int16), np.asarray(map2, np.uint16), alpha, overlay)


@dataclass(frozen=True)
class MouthGeometry:
    """The mouth in output pixels: its box, lip line (``y = a + b*u + c*u^2``) and the face around it."""

    mouth: Box
    lip_line: tuple[float, float, float]
    face: Box
    teeth_visible: bool


class FaceWarper:
    """Draws one frame of the portrait for a :class:`Pose`."""

    def __init__(self, base: Image, geometry: MouthGeometry, eyes: tuple[Box, Box]) -> None:
        self.base = base
        height, width = base.shape[:2]
        face = geometry.face
        self._mouth_region = self._region(Box(face.x0 - 0.1 * face.width, geometry.mouth.y0 - 0.6 * geometry.mouth.height,
                                              face.x1 + 0.1 * face.width, face.y0 + 1.55 * face.height), width, height)
        self._mouth_layers = self._mouth_levels(geometry)
        self._eyes = [(region, self._blink_levels(eye, region)) for eye in eyes
                      for region in [self._region(eye.expand(1.6, 2.6), width, height)]]
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

    def _mouth_levels(self, geo: MouthGeometry) -> list[_Layer]:
        xs, ys = self._grid(self._mouth_region)
        rows, cols = self._mouth_region
        mouth, face = geo.mouth, geo.face
        half = mouth.width / 2
        u_raw = (xs[0] - mouth.center[0]) / half
        u = np.clip(u_raw, -1, 1)
        a, b, c = geo.lip_line
        split = (a + b * u + c * u * u).astype(np.float32)  # per column
        lips = (np.clip(1 - u_raw**2, 0, 1) ** 0.8).astype(np.float32)  # opening profile along the lips
        jaw = np.exp(-0.5 * ((xs[0] - mouth.center[0]) / (0.32 * face.width)) ** 2).astype(np.float32)
        chin = face.y0 + 1.12 * face.height - float(split.max())
        lip_depth, neck = 0.35 * chin, 0.4 * face.height
        upper_depth = 0.9 * mouth.height
        r_out = ys - split  # output distance below the lip line
        region = self.base[rows, cols].astype(np.float32)
        lip_colour = self._lip_colour(geo)
        layers = []
        for level in range(MOUTH_LEVELS):
            gap = GAP_PER_WIDTH * mouth.width * level / (MOUTH_LEVELS - 1)
            down, up = (1 - UPPER_SHARE) * gap, UPPER_SHARE * gap

            def lower(r: Floats, down: float = down) -> Floats:
                t = _smoothstep(r / lip_depth)
                fade = 1 - _smoothstep((r - chin) / neck)
                return down * (lips + (jaw - lips) * t) * fade

            def upper(r: Floats, up: float = up) -> Floats:
                return up * lips * (1 - _smoothstep(-r / upper_depth))

            # invert the forward displacement by fixed-point iteration (it is smooth and small)
            r_low, r_up = r_out - down * lips, r_out + up * lips
            for _ in range(4):
                r_low = r_out - lower(np.maximum(r_low, 0))
                r_up = r_out + upper(np.minimum(r_up, 0))
            top, bottom = -up * lips, down * lips  # the lens between the parted lips, per column
            src_r = np.where(r_out <= top, np.minimum(r_up, 0), np.where(r_out >= bottom, np.maximum(r_low, 0), 0))
            map_y = (split + src_r).astype(np.float32)
            if gap < 0.5:
                layers.append(_layer(xs, map_y))
                continue
            inside = np.clip(np.minimum(r_out - top, bottom - r_out) / 1.5, 0, 1)[..., None].astype(np.float32)
            depth = np.clip((r_out - top) / np.maximum(bottom - top, 1e-3), 0, 1)  # 0 at the upper lip
            overlay = self._interior(depth, u_raw, bottom - top, lip_colour, mouth.width, geo.teeth_visible, region)
            layers.append(_layer(xs, map_y, inside, overlay))
        return layers

    def _lip_colour(self, geo: MouthGeometry) -> Floats:
        rows, cols = geo.mouth.clip(self.base.shape[1], self.base.shape[0]).slices()
        pixels = self.base[rows, cols].reshape(-1, 3).astype(np.float32)
        redness = pixels[:, 0] - pixels[:, 1]
        return np.median(pixels[redness >= np.percentile(redness, 70)], axis=0).astype(np.float32)

    @staticmethod
    def _interior(depth: Floats, u: Floats, gap: Floats, lip: Floats, width: float, teeth_visible: bool,
                  region: Floats) -> Floats:
        """The inside of the open mouth: dark, darker under the upper lip, tongue at the bottom."""
        # a cavity and tongue of typical colour, tinted by this person's lips
        cavity = 0.5 * lip * 0.35 + 0.5 * np.array([80.0, 26.0, 30.0], np.float32)
        tongue_colour = 0.5 * lip * 0.8 + 0.5 * np.array([185.0, 92.0, 98.0], np.float32)
        shade = np.clip(0.7 + 0.6 * depth - 0.3 * np.abs(u), 0.3, 1.2)[..., None]
        colour = cavity[None, None, :] * shade
        openness = np.clip(gap / (0.1 * width), 0, 1)
        tongue = (_smoothstep((depth - 0.4) / 0.4) * np.clip(1 - (u / 0.7) ** 2, 0, 1) * openness * 0.9)[..., None]
        colour = colour * (1 - tongue) + tongue_colour[None, None, :] * (0.75 + 0.35 * depth[..., None]) * tongue
        teeth_colour = np.array([228.0, 222.0, 210.0], np.float32)
        band = 0.09 * width / np.maximum(gap, 1.0)  # teeth are ~0.09 mouth widths tall, whatever the gap
        if not teeth_visible:
            upper = (_smoothstep((band - depth) / 0.08) * np.clip(1 - (u / 0.8) ** 4, 0, 1) * 0.9)[..., None]
            colour = colour * (1 - upper) + teeth_colour * 0.85 * upper
        return colour.astype(np.float32)

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

    def _head_init(self, face: Box) -> None:
        xs, ys = self._grid(self._head_region)
        cx, cy = face.center[0], face.center[1] - 0.1 * face.height
        radius = np.sqrt(((xs - cx) / (1.05 * face.width)) ** 2 + ((ys - cy) / (1.3 * face.height)) ** 2)
        weight = 1 - _smoothstep((radius - 1.0) / 0.55)
        self._pivot = (face.center[0], face.y1 + 0.3 * face.height)  # the neck
        px, py = self._pivot
        self._head_w = weight
        self._head_wx = weight * (xs - px)
        self._head_wy = weight * (ys - py)
        self._head_xy = (xs, ys)

    def _apply(self, frame: Image, region: tuple[slice, slice], layer: _Layer) -> None:
        rows, cols = region
        warped = cv2.remap(frame, layer.map1, layer.map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if layer.alpha is not None and layer.overlay is not None:
            blended = warped.astype(np.float32) * (1 - layer.alpha) + layer.overlay * layer.alpha
            warped = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        frame[rows, cols] = warped

    def draw(self, pose: Pose) -> Image:
        frame = self.base.copy()
        level = round(float(np.clip(pose.opening, 0, 1)) * (MOUTH_LEVELS - 1))
        if level:
            self._apply(frame, self._mouth_region, self._mouth_layers[level])
        closure = round(float(np.clip(pose.blink, 0, 1)) * (BLINK_LEVELS - 1))
        if closure:
            for region, layers in self._eyes:
                self._apply(frame, region, layers[closure])
        return self._move_head(frame, pose)

    def _move_head(self, frame: Image, pose: Pose) -> Image:
        # backward map: each output pixel reads from its position rotated back about the neck and shifted,
        # by the mask's share (1 on the head, fading to 0 over the shoulders and background)
        theta = np.deg2rad(pose.angle)
        cos_t, sin_t = float(np.cos(theta)), float(np.sin(theta))
        xs, ys = self._head_xy
        map_x = xs + (cos_t - 1) * self._head_wx + sin_t * self._head_wy - pose.dx * self._head_w
        map_y = ys - sin_t * self._head_wx + (cos_t - 1) * self._head_wy - pose.dy * self._head_w
        rows, cols = self._head_region
        out = frame.copy()
        out[rows, cols] = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return out
