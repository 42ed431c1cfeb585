"""Blending on the device: place each 256 x 256 face in its box and alpha-composite over the crop.

An avatar's per-frame data lives on the device once (``DeviceAvatar``): latents, the base frame's
crop region, the blend mask (already zero outside the face box) and the affine map from crop pixels
to face pixels. One ``grid_sample`` resizes every face of a batch into its box (bilinear, pixel
centres as ``cv2.resize``), then ``base + alpha * (face - base)``; only the crop comes back to the
host, where the session pastes it into a copy of the base frame. An engine that decodes only the
lower face takes each frame's upper rows from ``upper``: the base frame's own face crop.
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from avatar_runtime.render.musetalk.face_detect import FaceBox
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, face_input


@dataclass(frozen=True)
class DeviceAvatar:
    key: str
    latents: torch.Tensor  # [N, 8, 32, 32], model dtype
    base: torch.Tensor  # [N, 3, S, S] uint8, each crop top-left aligned
    alpha: torch.Tensor  # [N, 1, S, S] float32 blend mask, zero outside the face box
    theta: torch.Tensor  # [N, 2, 3] float32: crop pixel (normalised) -> face pixel (normalised)
    upper: torch.Tensor | None = None  # [N, 3, rows, 256] the face crop's top rows in [0, 1], model dtype

    @property
    def side(self) -> int:
        return int(self.base.shape[-1])


def face_placement(box: np.ndarray, crop: np.ndarray, side: int) -> np.ndarray:
    """Affine map for ``F.affine_grid`` (align_corners=False) putting the face on its box in the crop."""
    left, top = box[0] - crop[0], box[1] - crop[1]
    width, height = box[2] - box[0], box[3] - box[1]
    return np.array([[side / width, 0.0, (side - 2 * left) / width - 1.0],
                     [0.0, side / height, (side - 2 * top) / height - 1.0]], dtype=np.float32)


def upload_avatar(avatar: PreparedAvatar, device: torch.device, dtype: torch.dtype, upper_rows: int = 0) -> DeviceAvatar:
    """The avatar's per-frame data on the device; with ``upper_rows``, also that many top rows of each
    frame's face crop as the model sees it (for an engine that decodes only the rows below)."""
    count, side = len(avatar.frames), avatar.masks.shape[-1]
    base = np.zeros((count, side, side, 3), dtype=np.uint8)
    inside = np.zeros((count, side, side), dtype=np.float32)
    for i, (frame, box, crop) in enumerate(zip(avatar.frames, avatar.boxes, avatar.crops, strict=True)):
        base[i, : crop[3] - crop[1], : crop[2] - crop[0]] = frame[crop[1] : crop[3], crop[0] : crop[2]]
        inside[i, box[1] - crop[1] : box[3] - crop[1], box[0] - crop[0] : box[2] - crop[0]] = 1.0
    alpha = avatar.masks.astype(np.float32) * inside
    theta = np.stack([face_placement(b, c, side) for b, c in zip(avatar.boxes, avatar.crops, strict=True)])
    upper = None
    if upper_rows:
        faces = np.stack([face_input(frame, FaceBox(*map(int, box)))[:, :upper_rows]
                          for frame, box in zip(avatar.frames, avatar.boxes, strict=True)])
        upper = torch.from_numpy(faces / 2 + 0.5).to(device, dtype)
    return DeviceAvatar(
        key=avatar.key,
        latents=torch.from_numpy(avatar.latents).to(device, dtype),
        base=torch.from_numpy(base).to(device).permute(0, 3, 1, 2).contiguous(),
        alpha=torch.from_numpy(alpha).to(device).unsqueeze(1),
        theta=torch.from_numpy(theta).to(device),
        upper=upper,
    )


def composite(avatar: DeviceAvatar, frames: torch.Tensor, faces: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Crops [B, S, S, 3] uint8 (channels last, for the host) of base ``frames`` with ``faces`` blended in.

    ``faces``: [B, 3, 256, 256] in [0, 1]; ``weights``: [B] scale of the mask (1 speaking, < 1 fading out).
    """
    count, side = faces.shape[0], avatar.side
    grid = F.affine_grid(avatar.theta[frames], [count, 3, side, side], align_corners=False)
    placed = F.grid_sample(faces.float(), grid, mode="bilinear", padding_mode="border", align_corners=False) * 255.0
    base = avatar.base[frames].float()
    alpha = avatar.alpha[frames] * weights.view(count, 1, 1, 1)
    out = base + alpha * (placed - base)
    return out.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
