"""The talking mouth, drawn per frame from a :class:`MouthShape` (jaw, width, press).

Everything is a backward warp of the photo around the lip line (``y = a + b*u + c*u^2``):

- **Width**: the mouth corners move out (spread: i, e) or in (rounded: o, u), fading into the cheeks.
- **Jaw**: the lower lip, chin and jaw line move down, most at the lips' centre, fading into the
  neck; the upper lip lifts a little. Upper and lower lip each follow their own contour.
- **Press**: the lips meet and roll in (m, b, p). A smiling photo's visible teeth are covered by
  the upper lip coming down and the lower lip coming up; the lips get thinner and a crease darkens
  where they meet.

Between the parted lips the inside of the mouth is painted: a shaded cavity, upper teeth (the
photo's own when it shows them), lower teeth behind the lower lip, and the tongue.
"""
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.face import Box, teeth_mask
from avatar_runtime.render.portrait.visemes import MouthShape

Floats = npt.NDArray[np.float32]

GAP_PER_WIDTH = 0.3  # lip gap at full opening, in mouth widths
UPPER_SHARE = 0.22  # of the gap, taken by the upper lip moving up (the jaw does the rest)
SPREAD, ROUND = 0.1, 0.2  # relative change of mouth width at width = +1 / -1
THIN = 0.5  # pressed lips look this much thinner (rolled in)
UPPER_COVER = 0.65  # of the photo's visible teeth, covered by the upper lip (the lower lip does the rest)
TONGUE, LOWER_TEETH = 0.9, 0.9  # how much of the tongue and lower teeth shows
TEETH = np.array([232.0, 226.0, 214.0], np.float32)


def _smoothstep(x: npt.NDArray[np.floating]) -> Floats:
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    return (x * x * (3 - 2 * x)).astype(np.float32)


_Interior = tuple[Floats, Floats, Floats, tuple[slice, slice]]  # r, gap top, gap bottom (per pixel), where


@dataclass(frozen=True)
class MouthGeometry:
    """The mouth in output pixels: its box, lip line (``y = a + b*u + c*u^2``) and the face around it."""

    mouth: Box
    lip_line: tuple[float, float, float]
    face: Box
    teeth_visible: bool


class MouthWarp:
    """Draws the mouth of one frame onto a copy of the base frame (a few ms of numpy and OpenCV)."""

    def __init__(self, base: Image, geometry: MouthGeometry) -> None:
        self.base = base
        height, width = base.shape[:2]
        mouth, face = geometry.mouth, geometry.face
        self.geometry = geometry
        box = Box(face.x0 - 0.1 * face.width, mouth.y0 - 2.0 * mouth.height, face.x1 + 0.1 * face.width,
                  face.y0 + 1.55 * face.height).clip(width, height)
        self.rows, self.cols = box.slices()
        ys, xs = np.mgrid[self.rows.start : self.rows.stop, self.cols.start : self.cols.stop].astype(np.float32)
        self._xs, self._ys = xs, ys
        self._cx, self._half = mouth.center[0], mouth.width / 2
        self._u = (xs - self._cx) / self._half
        self._corners = 1 - _smoothstep((np.abs(self._u) - 1.0) / 1.3)  # where the width change reaches
        a, b, c = geometry.lip_line
        self._line = (a, b, c)
        split0 = self._split(self._u)
        self._above, self._below = 0.6 * mouth.height, 0.9 * mouth.height
        self._r0 = ys - split0
        self._chin = face.y0 + 1.12 * face.height - float(split0.max())
        self._lip_depth, self._neck, self._upper_depth = 0.35 * self._chin, 0.4 * face.height, 0.9 * mouth.height
        self._lip_thick = 0.3 * mouth.height
        self._jaw_sigma = 0.32 * face.width
        self._band_u, self._band = self._teeth_band(geometry)
        # rows where the lips can meet (for the crease), relative to the region
        top = int(mouth.y0 - 0.5 * mouth.height) - self.rows.start
        self._lip_rows = slice(max(top, 0), min(int(mouth.y1 + 0.5 * mouth.height) - self.rows.start, len(ys)))
        self._lip_colour = self._lips(geometry)

    def _split(self, u: Floats) -> Floats:
        a, b, c = self._line
        uc = np.clip(u, -1, 1)
        return (a + b * uc + c * uc * uc).astype(np.float32)

    def _teeth_band(self, geo: MouthGeometry) -> tuple[Floats, Floats]:
        """Per column (as ``u``), how tall the photo's visible upper teeth are above the lip line (px)."""
        cols = np.arange(int(geo.mouth.x0), int(np.ceil(geo.mouth.x1)))
        u = ((cols + 0.5 - self._cx) / self._half).astype(np.float32)
        band = np.zeros(len(cols), np.float32)
        if geo.teeth_visible and len(cols) > 4:
            top = max(int(geo.mouth.y0 - 0.3 * geo.mouth.height), 0)
            bottom = int(np.ceil(geo.mouth.y1))
            mask = teeth_mask(self.base[top:bottom, cols[0] : cols[-1] + 1])
            split = self._split(u)
            for j in range(len(cols)):
                rows = np.flatnonzero(mask[:, j])
                if len(rows):
                    band[j] = max(0.0, float(split[j] - (top + rows[0])))
            # close small holes (highlights, gaps between teeth), then cover the edge pixel too
            band = np.maximum.reduce([np.roll(band, k) for k in (-2, -1, 0, 1, 2)])
            band = np.convolve(band, np.ones(3, np.float32) / 3, mode="same").astype(np.float32)
            band = np.where(band > 0, band + 1.5, 0).astype(np.float32)
            # teeth in the shadow of the corners escape the mask: the lips must still meet there
            band = np.maximum(band, 0.8 * band.max() * np.sqrt(np.clip(1 - (u / 0.95) ** 2, 0, 1))).astype(np.float32)
        return u, band

    def _lips(self, geo: MouthGeometry) -> Floats:
        rows, cols = geo.mouth.clip(self.base.shape[1], self.base.shape[0]).slices()
        pixels = self.base[rows, cols].reshape(-1, 3).astype(np.float32)
        redness = pixels[:, 0] - pixels[:, 1]
        return np.median(pixels[redness >= np.percentile(redness, 70)], axis=0).astype(np.float32)

    def draw(self, frame: Image, shape: MouthShape) -> None:
        """Paint the mouth for ``shape`` into ``frame``: the base photo's frame, or a video loop frame aligned to it."""
        map_x, map_y, crease, interior = self._maps(shape)
        region: Image = np.asarray(cv2.remap(frame[self.rows, self.cols], map_x, map_y, cv2.INTER_LINEAR,
                                             borderMode=cv2.BORDER_REPLICATE), np.uint8)
        if crease is not None:
            rows = slice(crease[1], crease[1] + len(crease[0]))
            region[rows] = (region[rows] * (1 - crease[0][..., None])).astype(np.uint8)
        if interior is not None:
            self._paint_interior(region, *interior)
        frame[self.rows, self.cols] = region

    def _maps(self, shape: MouthShape) -> tuple[Floats, Floats, tuple[Floats, int] | None, _Interior | None]:
        """Backward maps (region pixels), the crease of pressed lips (rows from an offset), the gap to paint."""
        rounded = max(-shape.width, 0.0)
        scale = 1 + (SPREAD * shape.width if shape.width > 0 else ROUND * shape.width)
        # the lips part as far as the jaw opens: rounding narrows the opening, it does not make it taller
        gap = GAP_PER_WIDTH * 2 * self._half * shape.jaw * (1 - shape.press)
        down, up = (1 - UPPER_SHARE) * gap, UPPER_SHARE * gap
        # horizontal: corners in or out, most on the lips, fading above the lip and below the (moving) lower lip
        r0 = self._r0
        vertical = np.exp(-0.5 * np.square(r0 / np.where(r0 < 0, self._above, self._below + down))).astype(np.float32)
        x_src = self._cx + (self._xs - self._cx) * (1 + (1 / scale - 1) * self._corners * vertical)
        u = (x_src - self._cx) / self._half
        split = self._split(u)
        r = self._ys - split
        opening = np.clip(1 - np.square(u / (1 - 0.25 * rounded)), 0, 1) ** 0.8  # the gap's profile across
        jaw = np.exp(-0.5 * np.square((x_src - self._cx) / self._jaw_sigma))
        band = np.interp(u, self._band_u, self._band, left=0.0, right=0.0).astype(np.float32)
        cover = shape.press * band
        thin = THIN * shape.press
        upper_shift = UPPER_COVER * cover - up * opening  # + down, - up
        lip_edge = -band + upper_shift  # output position of the upper lip's inner edge
        teeth_bottom = -up * opening
        lower_top = down * opening - (1 - UPPER_COVER) * cover
        # above: the upper lip and the skin above it, shifted and thinned near the edge
        d_up = np.maximum(lip_edge - r, 0)
        d_up_src = d_up * (1 + thin * np.exp(-np.square(d_up / self._lip_thick)))
        src_up = -band - d_up_src + upper_shift * _smoothstep(d_up / self._upper_depth)
        # below: the lower lip, chin and jaw line, moved down and thinned near the edge
        d_low = np.maximum(r - lower_top, 0)
        d_low_src = d_low * (1 + thin * np.exp(-np.square(d_low / self._lip_thick)))
        t = _smoothstep(d_low / self._lip_depth)
        fade = 1 - _smoothstep((d_low - self._chin) / self._neck)
        lowered = down * (opening + (jaw - opening) * t) * fade - (1 - UPPER_COVER) * cover * (1 - t)
        src_low = lower_top + d_low - lowered + (d_low_src - d_low)
        src_low = np.maximum(src_low, 0)
        teeth = r - teeth_bottom  # in the teeth band: the teeth move with the upper lip
        src_r = np.where(r < lip_edge, src_up, np.where(r >= lower_top, src_low, np.minimum(teeth, 0)))
        map_x = (x_src - self.cols.start).astype(np.float32)
        map_y = (split + src_r - self.rows.start).astype(np.float32)
        crease = None
        if shape.press > 0.05:  # a darker line where the pressed lips meet, along the mouth
            rows = self._lip_rows
            meet = r[rows] - 0.5 * (lip_edge[rows] + lower_top[rows])
            crease = (np.clip(1 - np.abs(meet) / 1.5, 0, 1) * np.clip(1.2 - np.abs(u[rows]), 0, 1) * 0.3 * shape.press,
                      rows.start)
        if gap < 0.5:
            return map_x, map_y, crease, None
        parted = (r > teeth_bottom) & (r < lower_top)
        rows_in, cols_in = np.flatnonzero(parted.any(axis=1)), np.flatnonzero(parted.any(axis=0))
        if not len(rows_in):
            return map_x, map_y, crease, None
        box = (slice(rows_in[0], rows_in[-1] + 1), slice(cols_in[0], cols_in[-1] + 1))
        return map_x, map_y, crease, (r[box], teeth_bottom[box], lower_top[box], box)

    @staticmethod
    def _seams(u: Floats, teeth_per_half: float) -> Floats:
        """Slightly darker lines between teeth, which get narrower towards the corners."""
        along = np.sin(np.pi / 2 * np.clip(u, -1, 1))  # the arch: teeth look narrower towards the corners
        return (1 - 0.2 * np.exp(-np.square(np.sin(np.pi * along * teeth_per_half / 2) / 0.1)))[..., None].astype(np.float32)

    def _paint_interior(self, region: Image, r: Floats, top: Floats, bottom: Floats, box: tuple[slice, slice]) -> None:
        width = 2 * self._half
        u = (self._xs[box] - self._cx) / self._half
        span = np.maximum(bottom - top, 1e-3)
        depth = np.clip((r - top) / span, 0, 1)  # 0 at the upper teeth or lip, 1 at the lower lip
        lip = self._lip_colour
        cavity = 0.5 * lip * 0.3 + 0.5 * np.array([70.0, 22.0, 26.0], np.float32)
        shade = np.clip(0.55 + 0.7 * depth - 0.45 * np.abs(u), 0.25, 1.2)[..., None]
        colour = cavity * shade
        openness = np.clip(span / (0.1 * width), 0, 1)[..., None]
        # the tongue: low in the mouth, at the centre, seen when the jaw is well open
        tongue = (_smoothstep((depth - 0.35) / 0.35) * np.clip(1 - (u / 0.6) ** 2, 0, 1))[..., None] * openness * TONGUE
        tongue_colour = 0.5 * lip * 0.9 + 0.5 * np.array([190.0, 96.0, 104.0], np.float32)
        colour = colour * (1 - tongue) + tongue_colour * (0.45 + 0.35 * depth[..., None]) * tongue  # in the mouth's shadow
        # lower teeth: just behind the lower lip, partly hidden by it, a little in shadow
        lower_h = np.minimum(0.05 * width, 0.3 * span)
        lower = (_smoothstep((r - (bottom - lower_h)) / 1.2) * np.clip(1 - (u / 0.55) ** 4, 0, 1))[..., None]
        lower_shade = 0.55 + 0.25 * np.clip((r - (bottom - lower_h)) / np.maximum(lower_h, 1), 0, 1)[..., None]
        colour = colour * (1 - LOWER_TEETH * lower) + TEETH * lower_shade * self._seams(u, 4.2) * LOWER_TEETH * lower
        if not self.geometry.teeth_visible:  # the photo shows no teeth: upper teeth under the upper lip
            upper_h = 0.09 * width
            upper = (_smoothstep((top + upper_h - r) / 1.5) * np.clip(1 - (u / 0.8) ** 4, 0, 1))[..., None]
            # lit at the biting edge, shadowed under the lip and towards the corners
            light = (0.8 + 0.2 * np.clip((r - top) / upper_h, 0, 1) - 0.15 * np.abs(u))[..., None]
            colour = colour * (1 - 0.95 * upper) + TEETH * light * self._seams(u, 4.0) * 0.95 * upper
        inside = np.clip(np.minimum(r - top, bottom - r) / 1.2, 0, 1)[..., None]
        patch = region[box].astype(np.float32)
        region[box] = np.clip(patch * (1 - inside) + colour * inside + 0.5, 0, 255).astype(np.uint8)
