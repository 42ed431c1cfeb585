from pathlib import Path

import pytest
import torch

from avatar_runtime.errors import ModelMissingError
from avatar_runtime.render.musetalk.bisenet import BiSeNet
from avatar_runtime.render.musetalk.config import MUSETALK_V15
from avatar_runtime.render.musetalk.weights import MuseTalkModels, check_config, load_models, locate_weights

from .conftest import TINY_SPEC, write_weight_dir

# musetalk.json as published with MuseTalk 1.5 (diffusers UNet2DConditionModel config).
PUBLISHED_UNET_CONFIG = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu", "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": False, "cross_attention_dim": 384,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 8, "layers_per_block": 2,
    "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}


@pytest.fixture(scope="module")
def weight_dir(models: MuseTalkModels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_weight_dir(models, tmp_path_factory.mktemp("models"))


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    left, right = a.state_dict(), b.state_dict()
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def test_saved_weights_load_back_strictly_and_identically(models: MuseTalkModels, weight_dir: Path) -> None:
    loaded = load_models(weight_dir, spec=TINY_SPEC)
    assert _same(loaded.unet, models.unet)
    assert _same(loaded.vae, models.vae)
    assert _same(loaded.audio.encoder, models.audio.encoder)
    assert loaded.face_parser is not None and _same(loaded.face_parser, models.face_parser)
    assert loaded.fingerprint == load_models(weight_dir, spec=TINY_SPEC).fingerprint


def test_missing_files_are_all_named(weight_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "musetalkV15").mkdir()
    (tmp_path / "musetalkV15/musetalk.json").write_text((weight_dir / "musetalkV15/musetalk.json").read_text())
    with pytest.raises(ModelMissingError) as caught:
        locate_weights(tmp_path)
    message = str(caught.value)
    for name in ("musetalkV15/unet.pth", "sd-vae/config.json", "whisper/pytorch_model.bin", "whisper/preprocessor_config.json"):
        assert name in message
    assert "musetalk.json" not in message
    assert caught.value.retryable is False


def test_face_parser_is_optional(weight_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    for path in weight_dir.rglob("*"):
        if path.is_file() and "face-parse" not in str(path):
            (copy / path.relative_to(weight_dir)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(weight_dir)).write_bytes(path.read_bytes())
    assert locate_weights(copy).face_parser is None
    assert load_models(copy, spec=TINY_SPEC).face_parser is None


def test_a_differing_config_value_is_reported_with_the_expected_one(weight_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"cross_attention_dim=32 \(expected 384\)"):
        load_models(weight_dir, spec=MUSETALK_V15)


def test_the_published_musetalk_json_passes_and_unknown_keys_do_not() -> None:
    from diffusers import UNet2DConditionModel

    from avatar_runtime.render.musetalk.weights import _init_keys

    accepted = _init_keys(UNet2DConditionModel)
    check_config("musetalk.json", PUBLISHED_UNET_CONFIG, MUSETALK_V15.unet, accepted)
    with pytest.raises(ValueError, match="unknown key 'use_magic'"):
        check_config("musetalk.json", {**PUBLISHED_UNET_CONFIG, "use_magic": True}, MUSETALK_V15.unet, accepted)
    with pytest.raises(ValueError, match=r"in_channels=4 \(expected 8\)"):
        check_config("musetalk.json", {**PUBLISHED_UNET_CONFIG, "in_channels": 4}, MUSETALK_V15.unet, accepted)


def test_a_state_dict_that_does_not_fit_says_what_differs(weight_dir: Path, tmp_path: Path) -> None:
    state = torch.load(weight_dir / "musetalkV15/unet.pth", weights_only=True)
    state.pop("conv_in.weight")
    state["extra.weight"] = torch.zeros(1)
    state["conv_out.bias"] = torch.zeros(7)
    broken = tmp_path / "models"
    for path in weight_dir.rglob("*"):
        if path.is_file():
            (broken / path.relative_to(weight_dir)).parent.mkdir(parents=True, exist_ok=True)
            (broken / path.relative_to(weight_dir)).write_bytes(path.read_bytes())
    torch.save(state, broken / "musetalkV15/unet.pth")
    with pytest.raises(ValueError) as caught:
        load_models(broken, spec=TINY_SPEC)
    message = str(caught.value)
    assert "1 missing" in message and "conv_in.weight" in message
    assert "1 unexpected" in message and "extra.weight" in message
    assert "conv_out.bias (7,) vs (4,)" in message


def test_bisenet_has_the_parameter_names_of_the_public_checkpoint() -> None:
    keys = set(BiSeNet().state_dict())
    for key in ("cp.resnet.conv1.weight", "cp.resnet.layer2.0.downsample.0.weight", "cp.arm16.conv.conv.weight",
                "cp.arm32.bn_atten.running_mean", "cp.conv_head32.bn.weight", "cp.conv_avg.conv.weight",
                "ffm.convblk.conv.weight", "ffm.conv1.weight", "conv_out.conv_out.weight", "conv_out16.conv.bn.bias",
                "conv_out32.conv_out.weight"):
        assert key in keys
    assert sum(p.numel() for p in BiSeNet().parameters()) == 13_300_416
