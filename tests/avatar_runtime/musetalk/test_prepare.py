from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from avatar_runtime.render.musetalk.compose import composite, upload_avatar
from avatar_runtime.render.musetalk.config import SCALING_FACTOR
from avatar_runtime.render.musetalk.face_detect import FaceBox, detect_face_box
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, encode_faces, face_input, idle_clip, prepare_avatar
from avatar_runtime.render.musetalk.weights import MuseTalkModels

from .conftest import SMALL_PREPARE, portrait, tiny_models


def test_face_box_follows_the_release_rules_on_a_real_portrait() -> None:
    image = portrait()
    box = detect_face_box(image)
    assert box is not None
    # The astronaut's face sits in the upper middle of the crop; the box spans it, chin included.
    assert 40 < box.x1 < box.x2 < 140 and 20 < box.y1 < 70 and 100 < box.y2 < 150
    assert detect_face_box(np.full_like(image, 127)) is None


def test_preparation_builds_latents_masks_and_a_ping_pong_cycle(avatar: PreparedAvatar) -> None:
    count = len(avatar.frames)
    assert count == 3 and avatar.latents.shape == (count, 8, 32, 32) and avatar.latents.dtype == np.float16
    assert avatar.mask_source == "face-parsing"
    assert [avatar.frame_index(s) for s in range(2 * count + 1)] == [0, 1, 2, 2, 1, 0, 0]
    for box, crop, mask in zip(avatar.boxes, avatar.crops, avatar.masks, strict=True):
        _, y1, _, y2 = box - np.tile(crop[:2], 2)
        assert mask.max() <= 1.0 and mask.min() >= 0.0
        assert mask[: y1 + (y2 - y1) // 2 - 10].max() == 0  # nothing above the lower half (less the blur)


def test_latents_are_the_masked_face_then_the_face(models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    face = face_input(avatar.frames[0], _box(avatar, 0))
    masked = face.copy()
    masked[:, 128:, :] = -1.0
    latents = encode_faces(models, face[None])
    with torch.inference_mode():
        direct = [models.vae.encode(torch.from_numpy(x)[None]).latent_dist.mean * SCALING_FACTOR for x in (masked, face)]
    torch.testing.assert_close(torch.from_numpy(latents[0]).float(), torch.cat(direct, 1)[0], atol=2e-3, rtol=0)
    torch.testing.assert_close(torch.from_numpy(avatar.latents[0]).float(), torch.cat(direct, 1)[0], atol=2e-3, rtol=0)


def test_preparation_is_cached_by_inputs_and_settings(models: MuseTalkModels, tmp_path: Path) -> None:
    frames = [portrait(160)] * 2 + [np.zeros((160, 160, 3), np.uint8)]  # the last has no face: skipped
    stages: list[tuple[float, str]] = []
    def progress(fraction: float, stage: str) -> None:
        stages.append((fraction, stage))

    first = prepare_avatar(frames, models, cache_dir=tmp_path, settings=SMALL_PREPARE, progress=progress)
    assert len(first.frames) == 2
    assert [f for f, _ in stages] == sorted(f for f, _ in stages) and stages[-1][0] == 1.0
    stages.clear()
    again = prepare_avatar(frames, models, cache_dir=tmp_path, settings=SMALL_PREPARE, progress=progress)
    assert stages == [(1.0, "cached")] and again.key == first.key
    assert np.array_equal(again.latents, first.latents) and np.array_equal(again.masks, first.masks)
    other = prepare_avatar(frames[:1], models, cache_dir=tmp_path, settings=SMALL_PREPARE)
    assert other.key != first.key and len(list(tmp_path.glob("*.npz"))) == 2


def test_without_face_parsing_the_mask_is_a_lower_face_ellipse() -> None:
    prepared = prepare_avatar(idle_clip(portrait(), seconds=0.04), tiny_models(face_parser=False), settings=SMALL_PREPARE)
    assert prepared.mask_source == "ellipse"
    mask = prepared.masks[0]
    box = _box(prepared, 0)
    crop = prepared.crops[0]
    centre_x, mouth_y = (box.x1 + box.x2) // 2 - crop[0], box.y1 + int(0.74 * box.height) - crop[1]
    assert mask[mouth_y, centre_x] > 0.9 and mask[: box.y1 - crop[1]].max() == 0


def _box(avatar: PreparedAvatar, index: int) -> FaceBox:
    return FaceBox(*(int(v) for v in avatar.boxes[index]))


@pytest.mark.parametrize("weight", [1.0, 0.5, 0.0])
def test_composite_resizes_the_face_into_its_box_and_blends_by_the_mask(avatar: PreparedAvatar, weight: float) -> None:
    device = upload_avatar(avatar, torch.device("cpu"), torch.float32)
    face = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    faces = torch.from_numpy(face).permute(2, 0, 1)[None].float() / 255
    crop = composite(device, torch.tensor([1]), faces, torch.tensor([weight]))[0].numpy()
    x1, y1, x2, y2 = avatar.boxes[1] - np.tile(avatar.crops[1][:2], 2)  # the box in crop coordinates
    cx1, cy1, cx2, cy2 = avatar.crops[1]
    base = avatar.frames[1][cy1:cy2, cx1:cx2].astype(float)
    expected_face = cv2.resize(face, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR).astype(float)
    alpha = avatar.masks[1][: cy2 - cy1, : cx2 - cx1].astype(float)[..., None] * weight
    expected = base.copy()
    expected[y1:y2, x1:x2] += alpha[y1:y2, x1:x2] * (expected_face - base[y1:y2, x1:x2])
    assert np.abs(crop[: cy2 - cy1, : cx2 - cx1] - expected).max() <= 2  # bilinear vs cv2 rounding
    outside = alpha[..., 0] == 0
    assert np.array_equal(crop[: cy2 - cy1, : cx2 - cx1][outside], avatar.frames[1][cy1:cy2, cx1:cx2][outside])
