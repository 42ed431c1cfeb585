"""The head's warp, computed on a coarse grid and interpolated, against the per-pixel warp it stands for."""
import cv2
import numpy as np
import pytest

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.portrait.animator import Pose
from avatar_runtime.render.portrait.renderer import build_warper
from avatar_runtime.render.portrait.visemes import REST
from tests.avatar_runtime.render.media import astronaut


def exact_head_move(frame: Image, pose: Pose) -> Image:
    """The head rotated about the neck and shifted, faded out by the mask, with maps for every pixel in float."""
    rig = astronaut().rig
    face = rig.to_output(rig.face)
    rows, cols = face.expand(3.0, 3.2).clip(frame.shape[1], frame.shape[0]).slices()
    rows, cols = slice(max(rows.start, 0), rows.stop), slice(max(cols.start, 0), cols.stop)
    ys, xs = np.mgrid[rows, cols].astype(np.float32)
    cx, cy = face.center[0], face.center[1] - 0.1 * face.height
    radius = np.sqrt(((xs - cx) / (1.05 * face.width)) ** 2 + ((ys - cy) / (1.3 * face.height)) ** 2)
    fade = np.clip((radius - 1.0) / 0.55, 0, 1)
    weight = 1 - fade * fade * (3 - 2 * fade)
    px, py = face.center[0], face.y1 + 0.3 * face.height
    theta = np.deg2rad(pose.angle)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    map_x = xs + weight * ((cos_t - 1) * (xs - px) + sin_t * (ys - py) - pose.dx)
    map_y = ys + weight * (-sin_t * (xs - px) + (cos_t - 1) * (ys - py) - pose.dy)
    out = frame.copy()
    out[rows, cols] = cv2.remap(frame, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    return out


# the animator's sway at this face size (about 2 px and 0.8 degrees), both ways, and a pose well beyond it
@pytest.mark.parametrize("dx, dy, angle", [(2.0, -1.5, 0.8), (-1.8, 2.2, -0.8), (4.0, 3.0, 2.0)])
def test_the_coarse_head_warp_draws_the_exact_one(dx: float, dy: float, angle: float) -> None:
    warper = build_warper(astronaut())
    pose = Pose(mouth=REST, blink=0.0, dx=dx, dy=dy, angle=angle)
    drawn = warper.draw(pose).astype(np.int16)
    exact = exact_head_move(warper.base, pose).astype(np.int16)
    still = warper.base.astype(np.int16)
    error = np.abs(drawn - exact)
    moved = np.abs(exact - still)
    assert moved.mean() > 2.0  # the head did move, by far more than the approximation is off
    # off by a level or so where the image has edges (the sub-pixel steps of fixed-point maps), nowhere by much
    assert error.mean() < 0.1 and np.percentile(error, 99.9) <= 1 and error.max() <= 12
