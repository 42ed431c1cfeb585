"""Blend masks: where the generated mouth region replaces the base frame, with soft edges.

The mask lives in a square "crop" around the face box (side ``max(w, h) // 2 * 1.5 * 2``). With
face parsing (BiSeNet), v1.5's "jaw" mode: dilated skin, mouth and lips, minus the nose, the outer
cheeks trimmed, only the lower half of the face box, Gaussian-blurred (kernel ~ 0.1 x crop width).
Without face-parsing weights, a feathered ellipse over the lower face.
"""
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.musetalk.bisenet import LOWER_LIP, MOUTH, NOSE, SKIN, UPPER_LIP, BiSeNet, normalise
from avatar_runtime.render.musetalk.face_detect import FaceBox

Mask = npt.NDArray[np.float32]  # H x W in [0, 1]


@dataclass(frozen=True)
class MaskSettings:
    expand: float = 1.5  # crop half-side = max(w, h) // 2 * expand
    parse_size: int = 512
    blur_ratio: float = 0.1  # Gaussian kernel as a fraction of the crop width
    cheek_trim: float = 0.12  # fraction of the face box width cut from each side
    dilate_ratio: float = 0.03  # skin dilation kernel as a fraction of the crop width


def crop_box(box: FaceBox, shape: tuple[int, ...], expand: float) -> FaceBox:
    """The square around the face box's centre that the mask and the composite work in (clipped)."""
    height, width = shape[:2]
    cx, cy = (box.x1 + box.x2) // 2, (box.y1 + box.y2) // 2
    half = int(max(box.width, box.height) // 2 * expand)
    return FaceBox(max(0, cx - half), max(0, cy - half), min(width, cx + half), min(height, cy + half))


def _odd(value: float) -> int:
    return max(1, int(value) // 2 * 2 + 1)


def _lower_face(mask: Mask, face: FaceBox, blur_ratio: float) -> Mask:
    """Keep the lower half of the face box only, then feather."""
    kept = np.zeros_like(mask)
    top = face.y1 + face.height // 2
    kept[top : face.y2, face.x1 : face.x2] = mask[top : face.y2, face.x1 : face.x2]
    kernel = _odd(blur_ratio * mask.shape[1])
    return np.asarray(cv2.GaussianBlur(kept, (kernel, kernel), 0), dtype=np.float32)


def jaw_mask(labels: npt.NDArray[np.int64], face: FaceBox, settings: MaskSettings) -> Mask:
    """Mask from a face-parsing label map of the crop; ``face`` is the face box in crop coordinates."""
    width = labels.shape[1]
    dilate = _odd(settings.dilate_ratio * width)
    skin = cv2.dilate((labels == SKIN).astype(np.uint8), np.ones((dilate, dilate), np.uint8))
    nose = cv2.dilate((labels == NOSE).astype(np.uint8), np.ones((dilate, dilate), np.uint8))
    region = (skin.astype(bool) | np.isin(labels, (MOUTH, UPPER_LIP, LOWER_LIP))) & ~nose.astype(bool)
    trim = int(settings.cheek_trim * face.width)
    region[:, : face.x1 + trim] = False
    region[:, face.x2 - trim :] = False
    return _lower_face(region.astype(np.float32), face, settings.blur_ratio)


def ellipse_mask(shape: tuple[int, int], face: FaceBox, settings: MaskSettings) -> Mask:
    """Fallback without face parsing: an ellipse over mouth and jaw inside the face box."""
    mask = np.zeros(shape, dtype=np.float32)
    centre = ((face.x1 + face.x2) // 2, face.y1 + int(0.74 * face.height))
    axes = (max(1, int(0.38 * face.width)), max(1, int(0.24 * face.height)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, thickness=-1)
    return _lower_face(mask, face, settings.blur_ratio)


@torch.inference_mode()
def parse_faces(parser: BiSeNet, crops: list[Image], size: int) -> list[npt.NDArray[np.int64]]:
    """Face-parsing label maps, each at its crop's own size."""
    device = next(parser.parameters()).device
    batch = np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_LINEAR) for c in crops])
    rgb = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float()
    labels = parser(normalise(rgb)).argmax(dim=1, keepdim=True).float()
    out = []
    for crop, label in zip(crops, labels, strict=True):
        resized = F.interpolate(label[None], size=crop.shape[:2], mode="nearest")[0, 0]
        out.append(resized.to(torch.int64).cpu().numpy())
    return out
