"""Offline face and facial-feature location, shared by the portrait renderer and lip-sync QA.

Faces come from dlib's HOG frontal-face detector, which is compiled into the ``dlib`` wheel
(no weights to download; OpenCV 5 no longer ships Haar cascades). Inside a face box the mouth
and eyes are located from the image itself: the mouth as the region whose colour departs most
from the surrounding skin (red lips, white teeth, dark gaps), the eyes as the darkest blobs of
the upper face. Each location carries a confidence; when the image evidence is weak we fall back
to standard face proportions and say so with a low confidence, so staff know to adjust.
"""
from dataclasses import dataclass

import cv2
import dlib
import numpy as np
import numpy.typing as npt

from avatar_runtime.pipeline.messages import Image

FloatMap = npt.NDArray[np.float32]

# dlib's detector scores are margins from its SVM boundary; 0 is its own threshold. On our test
# photos stray detections (fabric folds, suit seams) score < 0.1, real faces > 0.5.
MIN_FACE_SCORE = 0.3
# dlib finds faces of about 80 px and up; smaller ones need the image upsampled first.
_DLIB_MIN_FACE = 80
# Share of bright, unsaturated pixels in the mouth box above which the resting mouth shows teeth.
TEETH_FRACTION = 0.06


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels: ``x0, y0`` top-left, ``x1, y1`` bottom-right."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def as_list(self) -> list[float]:
        return [round(self.x0, 2), round(self.y0, 2), round(self.x1, 2), round(self.y1, 2)]

    @classmethod
    def from_list(cls, values: list[float] | tuple[float, ...]) -> "Box":
        x0, y0, x1, y1 = (float(v) for v in values)
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"empty box {values}")
        return cls(x0, y0, x1, y1)

    @classmethod
    def around(cls, cx: float, cy: float, width: float, height: float) -> "Box":
        return cls(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)

    def map(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> "Box":
        """This box under ``p -> p * scale + (dx, dy)`` (e.g. source photo -> output frame)."""
        return Box(self.x0 * scale + dx, self.y0 * scale + dy, self.x1 * scale + dx, self.y1 * scale + dy)

    def expand(self, fx: float, fy: float | None = None) -> "Box":
        cx, cy = self.center
        return Box.around(cx, cy, self.width * fx, self.height * (fx if fy is None else fy))

    def clip(self, width: int, height: int) -> "Box":
        return Box(max(0.0, self.x0), max(0.0, self.y0), min(float(width), self.x1), min(float(height), self.y1))

    def slices(self) -> tuple[slice, slice]:
        """Row and column slices covering the box (rounded outwards)."""
        return slice(int(np.floor(self.y0)), int(np.ceil(self.y1))), slice(int(np.floor(self.x0)), int(np.ceil(self.x1)))


@dataclass(frozen=True)
class FaceDetection:
    box: Box
    score: float


@dataclass(frozen=True)
class FaceFeatures:
    """Mouth and eyes of one face; confidences in [0, 1] (below ~0.5: proportions were used)."""

    mouth: Box
    left_eye: Box  # the eye on the image's left
    right_eye: Box
    mouth_confidence: float
    eyes_confidence: float


_detector: dlib.fhog_object_detector | None = None


def _hog_detector() -> dlib.fhog_object_detector:
    global _detector
    if _detector is None:
        _detector = dlib.get_frontal_face_detector()
    return _detector


def detect_faces(image: Image, *, min_score: float = MIN_FACE_SCORE, min_face: int = 60) -> list[FaceDetection]:
    """Frontal faces of at least ``min_face`` pixels, best first.

    The image is upsampled just enough for dlib to see faces of ``min_face`` pixels.
    """
    upsample = 0
    while _DLIB_MIN_FACE / 2**upsample > min_face and upsample < 2:
        upsample += 1
    rects, scores, _ = _hog_detector().run(np.ascontiguousarray(image), upsample, min_score)
    found = [FaceDetection(Box(r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores, strict=True)]
    return sorted(found, key=lambda f: -f.score)


def _gaussian_prior(shape: tuple[int, int], cx: float, cy: float, sx: float, sy: float) -> FloatMap:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return np.exp(-(((xs - cx) / sx) ** 2 + ((ys - cy) / sy) ** 2) / 2).astype(np.float32)


def _skin_deviation(lab: npt.NDArray[np.float32]) -> FloatMap:
    """How far each pixel's colour is from the region's typical (skin) colour, in robust units."""
    out = np.zeros(lab.shape[:2], np.float32)
    for channel, weight in ((1, 1.0), (0, 0.6), (2, 0.3)):  # a* (redness) matters most: lips
        values = lab[..., channel]
        median = float(np.median(values))
        mad = float(np.median(np.abs(values - median))) + 1.0
        out += weight * ((values - median) / mad) ** 2
    return out


def _locate_mouth(image: Image, face: Box) -> tuple[Box, float]:
    w, h = face.width, face.height
    default = Box.around(face.center[0], face.y0 + 0.76 * h, 0.45 * w, 0.17 * h)
    region = Box(face.x0 + 0.1 * w, face.y0 + 0.55 * h, face.x1 - 0.1 * w, face.y0 + 1.05 * h)
    rows, cols = region.clip(image.shape[1], image.shape[0]).slices()
    patch = image[rows, cols]
    if patch.shape[0] < 8 or patch.shape[1] < 8:
        return default, 0.0
    lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32)
    deviation = cv2.GaussianBlur(_skin_deviation(lab), (0, 0), max(1.0, w / 80))
    prior = _gaussian_prior(deviation.shape, face.center[0] - cols.start, face.y0 + 0.76 * h - rows.start, 0.18 * w, 0.1 * h)
    score = deviation * prior
    mask = (score > np.percentile(score, 88)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        return default, 0.0
    masses = [float(score[labels == i].sum()) for i in range(1, count)]
    best = 1 + int(np.argmax(masses))
    x, y, bw, bh = (int(v) for v in stats[best, :4])
    found = Box(cols.start + x, rows.start + y, cols.start + x + bw, rows.start + y + bh)
    checks = [
        0.25 * w <= found.width <= 0.75 * w,
        1.4 <= found.width / max(found.height, 1.0) <= 8.0,
        abs(found.center[0] - face.center[0]) <= 0.15 * w,
        face.y0 + 0.58 * h <= found.center[1] <= face.y0 + 0.98 * h,
    ]
    contrast = float(deviation[labels == best].mean() / (np.median(deviation) + 1e-3))
    confidence = (sum(checks) / len(checks)) * float(np.clip((contrast - 2.0) / 8.0, 0.0, 1.0))
    if not all(checks):
        return default, min(confidence, 0.3)
    return found, round(confidence, 3)


def _locate_eyes(image: Image, face: Box) -> tuple[Box, Box, float]:
    w, h = face.width, face.height
    size = (0.26 * w, 0.13 * h)
    guesses = [(face.x0 + 0.28 * w, face.y0 + 0.24 * h), (face.x0 + 0.72 * w, face.y0 + 0.24 * h)]
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    found: list[tuple[float, float, float]] = []
    for gx, gy in guesses:
        region = Box.around(gx, gy, 0.4 * w, 0.36 * h).clip(image.shape[1], image.shape[0])
        rows, cols = region.slices()
        patch = gray[rows, cols]
        if patch.shape[0] < 4 or patch.shape[1] < 4:
            return Box.around(*guesses[0], *size), Box.around(*guesses[1], *size), 0.0
        darkness = cv2.GaussianBlur(255.0 - patch, (0, 0), max(1.0, w / 60))
        weighted = darkness * _gaussian_prior(darkness.shape, gx - cols.start, gy - rows.start, 0.12 * w, 0.1 * h)
        y, x = np.unravel_index(int(np.argmax(weighted)), weighted.shape)
        contrast = float(darkness[y, x] - np.median(darkness))
        found.append((cols.start + float(x), rows.start + float(y), contrast))
    (lx, ly, lc), (rx, ry, rc) = found
    checks = [abs(ly - ry) <= 0.1 * h, 0.3 * w <= rx - lx <= 0.62 * w, min(lc, rc) >= 15.0]
    if not all(checks):
        return Box.around(*guesses[0], *size), Box.around(*guesses[1], *size), round(0.3 * sum(checks) / len(checks), 3)
    confidence = float(np.clip(min(lc, rc) / 40.0, 0.5, 1.0))
    return Box.around(lx, ly, *size), Box.around(rx, ry, *size), round(confidence, 3)


def locate_features(image: Image, face: Box) -> FaceFeatures:
    """Mouth and eyes inside a face box (as returned by :func:`detect_faces`)."""
    mouth, mouth_conf = _locate_mouth(image, face)
    left, right, eyes_conf = _locate_eyes(image, face)
    return FaceFeatures(mouth, left, right, mouth_conf, eyes_conf)


def lip_line(image: Image, mouth: Box) -> tuple[float, float, float]:
    """Where the lips part, as ``y = a + b * u + c * u**2`` with ``u`` in [-1, 1] across the mouth.

    Per column: below the teeth when the resting mouth shows them (the jaw opens under the upper
    teeth), else the darkest row between the lips. A quadratic fit follows the curve of a smile;
    a straight line through the box centre when the columns disagree.
    """
    rows, cols = mouth.clip(image.shape[1], image.shape[0]).slices()
    patch = image[rows, cols]
    flat = (mouth.center[1], 0.0, 0.0)
    if patch.shape[0] < 4 or patch.shape[1] < 6:
        return flat
    teeth = teeth_mask(patch)
    use_teeth = bool(teeth.mean() > TEETH_FRACTION)
    darkness = 255.0 - cv2.GaussianBlur(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32), (3, 3), 0)
    us, ys = [], []
    for j in range(patch.shape[1]):
        u = 2 * (j + 0.5) / patch.shape[1] - 1
        column = np.flatnonzero(teeth[:, j])
        if use_teeth and len(column):
            us.append(u)
            ys.append(rows.start + column[-1] + 1.0)
        elif not use_teeth:
            us.append(u)
            ys.append(rows.start + float(np.argmax(darkness[:, j])) + 0.5)
    if len(us) < 6:
        return flat
    u_arr, y_arr = np.array(us), np.array(ys)
    coeffs = np.polyfit(u_arr, y_arr, 2)
    inliers = np.abs(np.polyval(coeffs, u_arr) - y_arr) <= max(1.5, 0.1 * mouth.height)
    if inliers.sum() >= 6:  # refit without highlights and stray columns
        coeffs = np.polyfit(u_arr[inliers], y_arr[inliers], 2)
    c, b, a = (float(v) for v in coeffs)
    residual = float(np.std(np.polyval(coeffs, u_arr[inliers]) - y_arr[inliers]))
    if residual > 0.25 * mouth.height or abs(c) > 0.5 * mouth.height or not mouth.y0 <= a <= mouth.y1:
        return flat
    return a, b, c


def _largest_component(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count < 2:
        return np.zeros_like(mask)
    return np.asarray(labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])))


def _bright_grey(patch: Image) -> npt.NDArray[np.bool_]:
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    # teeth are far less saturated than skin and lips (S ~5-40 against ~60-100 on our photos)
    return (hsv[..., 2] > 150) & (hsv[..., 1] < 42)


def teeth_mask(patch: Image) -> npt.NDArray[np.bool_]:
    """The teeth in a mouth patch: its largest bright, unsaturated blob."""
    return _largest_component(_bright_grey(patch))


def teeth_visible(image: Image, mouth: Box) -> bool:
    """Whether the resting mouth already shows teeth (bright, unsaturated pixels inside it)."""
    rows, cols = mouth.clip(image.shape[1], image.shape[0]).slices()
    return bool(teeth_mask(image[rows, cols]).mean() > TEETH_FRACTION)
