"""Offline face geometry for avatar preparation: a cascade face detector + landmark proportions.

The release uses 68-point landmarks (DWPose) only to place the face box; it needs four numbers
from them: the outermost jaw x on each side, the chin's y, and the y of the lower nose bridge.
We estimate those from a frontal-face cascade box with fixed proportions of a frontal face.
The cascade is OpenCV's LBP frontal-face model as shipped with scikit-image (the OpenCV 5 wheel
no longer carries Haar cascades). ``detect_landmarks`` is the one call to swap for a real
landmark model.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from skimage.color import rgb2gray
from skimage.data import lbp_frontal_face_cascade_filename
from skimage.feature import Cascade

from avatar_runtime.pipeline.messages import Image

# Where the landmarks fall inside a frontal-face cascade box (fractions of its width / height):
# the cascade box spans roughly brows to upper lip, cheek to cheek.
_JAW_LEFT, _JAW_RIGHT = 0.02, 0.98
_NOSE_BRIDGE = 0.58  # landmark 29, the lower nose bridge
_CHIN = 1.18  # landmark 8, below the box


@dataclass(frozen=True)
class FaceLandmarks:
    """The landmark values the MuseTalk box needs, in pixels."""

    jaw_left: float
    jaw_right: float
    chin: float
    nose_bridge: float


@dataclass(frozen=True)
class FaceBox:
    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1


@lru_cache(maxsize=1)
def _cascade() -> Cascade:
    return Cascade(lbp_frontal_face_cascade_filename())


def detect_landmarks(image: Image) -> FaceLandmarks | None:
    """The largest frontal face's landmark values, or None when no face is found."""
    height, width = image.shape[:2]
    smallest = max(24, min(height, width) // 12)
    found = _cascade().detect_multi_scale(img=rgb2gray(image), scale_factor=1.2, step_ratio=1,
                                          min_size=(smallest, smallest), max_size=(height, width))
    if not found:
        return None
    face = max(found, key=lambda f: f["width"] * f["height"])
    x, y, w, h = (float(face[k]) for k in ("c", "r", "width", "height"))
    return FaceLandmarks(jaw_left=x + _JAW_LEFT * w, jaw_right=x + _JAW_RIGHT * w,
                         chin=y + _CHIN * h, nose_bridge=y + _NOSE_BRIDGE * h)


def face_box(landmarks: FaceLandmarks, shape: tuple[int, ...], margin: int = 10) -> FaceBox | None:
    """The MuseTalk 1.5 box: jaw to jaw; the chin mirrored about the nose bridge above, chin + ``margin`` below."""
    height, width = shape[:2]
    x1, x2 = max(0, round(landmarks.jaw_left)), min(width, round(landmarks.jaw_right))
    y1 = max(0, round(2 * landmarks.nose_bridge - landmarks.chin))
    y2 = min(height, round(landmarks.chin) + margin)
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    return FaceBox(x1, y1, x2, y2)


def detect_face_box(image: Image, margin: int = 10) -> FaceBox | None:
    landmarks = detect_landmarks(np.asarray(image))
    return None if landmarks is None else face_box(landmarks, image.shape, margin)
