import numpy as np
import pytest
import torch

from avatar_runtime.errors import ModelMissingError
from avatar_runtime.qa.embedded import track_faces
from avatar_runtime.qa.mfcc import mfcc
from avatar_runtime.qa.s3fd import S3FD, S3FDNet
from avatar_runtime.qa.syncnet import SyncNetScorer, offset_from_embeddings
from avatar_runtime.qa.syncnet_model import SyncNet
from avatar_runtime.render.clip import write_clip
from tests.avatar_runtime.qa.clips import rendered


@pytest.fixture
def models_dir(tmp_path):
    """Randomly initialised networks saved in the official file layout (no downloaded weights)."""
    torch.manual_seed(0)
    (tmp_path / "syncnet").mkdir()
    torch.save(SyncNet(embedding=64).state_dict(), tmp_path / "syncnet" / "syncnet_v2.model")
    torch.save(S3FDNet().state_dict(), tmp_path / "syncnet" / "sfd_face.pth")
    return tmp_path


def test_parameter_names_and_shapes_are_the_official_ones() -> None:
    syncnet = {k: tuple(v.shape) for k, v in SyncNet().state_dict().items()}
    assert syncnet["netcnnaud.0.weight"] == (64, 1, 3, 3)
    assert syncnet["netcnnaud.18.weight"] == (512, 256, 5, 4)
    assert syncnet["netcnnlip.0.weight"] == (96, 3, 5, 7, 7)
    assert syncnet["netcnnlip.18.weight"] == (512, 256, 1, 6, 6)
    assert syncnet["netfclip.3.weight"] == (1024, 512) and "netfcaud.1.running_var" in syncnet
    s3fd = {k: tuple(v.shape) for k, v in S3FDNet().state_dict().items()}
    assert s3fd["vgg.31.weight"] == (1024, 512, 3, 3) and s3fd["vgg.33.weight"] == (1024, 1024, 1, 1)
    assert len(s3fd) == 65 and "vgg.30.weight" not in s3fd  # index 30 is pool5
    assert s3fd["L2Norm3_3.weight"] == (256,) and s3fd["conf.0.weight"] == (4, 256, 3, 3)
    assert s3fd["extras.3.weight"] == (256, 128, 3, 3) and s3fd["loc.5.weight"] == (4, 256, 3, 3)


def test_mfcc_matches_python_speech_features() -> None:
    t = np.arange(int(16000 * 1.03)) / 16000
    x = (8000 * np.sin(2 * np.pi * (200 + 600 * t) * t) + 500 * np.sin(2 * np.pi * 3000 * t)).astype(np.int16)
    features = mfcc(x, 16000)
    # reference: python_speech_features 0.6, mfcc(x, 16000), rows 0, 50 and 101
    expected = [
        [18.19674, 10.95357, 10.35843, 37.95362, -14.30982, -15.61595, 24.56873, -30.05111, -35.05779, 7.29831, -32.708,
         -35.34854, 3.48701],
        [20.31931, 12.78338, -19.43995, -16.83192, -34.39311, -9.63745, 45.34997, 12.46846, -9.83238, 1.79977, -34.65565,
         -22.23691, 26.0664],
        [21.15817, -6.29822, -40.01897, -13.22813, 16.13258, 18.98157, 0.46977, -33.69657, -8.84651, 34.37097, 3.46152,
         -22.35009, -3.10367],
    ]
    assert features.shape == (102, 13)
    np.testing.assert_allclose(features[[0, 50, 101]], expected, atol=1e-4)


@pytest.mark.parametrize("k", [-7, 0, 4])
def test_offset_and_confidence_from_embeddings(k: int) -> None:
    torch.manual_seed(1)
    lip = torch.randn(80, 32)
    aud = torch.randn(80, 32)
    for i in range(80):  # audio window i + k carries the sound of video window i: audio k frames late
        if 0 <= i + k < 80:
            aud[i + k] = lip[i]
    result = offset_from_embeddings(lip, aud)
    assert result.offset_frames == k
    assert result.confidence > 3 and result.min_dist < 2


def test_missing_weights_are_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelMissingError) as err:
        SyncNetScorer(tmp_path)
    assert "syncnet/syncnet_v2.model" in str(err.value) and "syncnet/sfd_face.pth" in str(err.value)
    assert not err.value.retryable


@pytest.mark.slow
def test_s3fd_runs_on_a_frame(models_dir) -> None:
    detector = S3FD(models_dir / "syncnet" / "sfd_face.pth")
    images, _ = rendered("short")
    found = detector.detect(images[0], threshold=0.5)  # random weights: whatever they find, well-formed
    assert all(0.5 < score <= 1 and box.width > 0 and box.height > 0 for box, score in found)


@pytest.mark.slow
def test_scores_a_clip_end_to_end_with_a_random_network(models_dir, tmp_path) -> None:
    images, audio = rendered("short")
    path = write_clip(tmp_path / "clip.mp4", images[:30], audio[: 30 * 640], 25, 16000)
    scorer = SyncNetScorer(models_dir, face_track=track_faces)
    result = scorer.score(path)
    assert result.scorer == "syncnet"
    assert -15 <= result.offset_frames <= 15
    assert result.confidence >= 0 and result.min_dist > 0
    # a random network has no idea of sync: far below the threshold of a trained one
    assert result.confidence < scorer.confidence_threshold
