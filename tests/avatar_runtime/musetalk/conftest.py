"""Tiny random-weight MuseTalk models (same classes, small configs) and an official-layout weight dir."""
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage import data
from transformers import WhisperFeatureExtractor

from avatar_runtime.render.musetalk.config import MUSETALK_V15, ArchitectureSpec
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, PrepareSettings, idle_clip, prepare_avatar
from avatar_runtime.render.musetalk.server import MuseTalkServer
from avatar_runtime.render.musetalk.weights import MuseTalkModels, build_models

TINY_UNET = {
    "in_channels": 8, "out_channels": 4, "cross_attention_dim": 32, "block_out_channels": [32, 64],
    "attention_head_dim": 8, "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "layers_per_block": 1, "norm_num_groups": 8, "sample_size": 32,
}
TINY_VAE = {
    "block_out_channels": [8, 8, 16, 16], "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4, "layers_per_block": 1, "norm_num_groups": 4, "latent_channels": 4,
    "sample_size": 256,
}
TINY_WHISPER = {
    "d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_layers": 1,
    "decoder_attention_heads": 2, "decoder_ffn_dim": 64, "num_mel_bins": 80, "max_source_positions": 1500,
}
TINY_SPEC = ArchitectureSpec(
    unet={k: TINY_UNET[k] for k in ("in_channels", "out_channels", "cross_attention_dim", "block_out_channels")},
    vae={"latent_channels": 4, "block_out_channels": TINY_VAE["block_out_channels"]},
    whisper={"d_model": 32, "encoder_layers": 2, "num_mel_bins": 80, "max_source_positions": 1500},
    audio=MUSETALK_V15.audio,
)
# Small frames keep face parsing and VAE encoding fast on two CPU cores.
SMALL_PREPARE = PrepareSettings(max_frames=4, batch=4)


def tiny_models(face_parser: bool = True) -> MuseTalkModels:
    return build_models(unet_config=TINY_UNET, vae_config=TINY_VAE, whisper_config=TINY_WHISPER, face_parser=face_parser)


@pytest.fixture(scope="session")
def models() -> MuseTalkModels:
    return tiny_models()


def write_weight_dir(models: MuseTalkModels, root: Path) -> Path:
    """Save ``models`` in the layout (and file formats) of the official release."""
    (root / "musetalkV15").mkdir(parents=True)
    torch.save(models.unet.state_dict(), root / "musetalkV15/unet.pth")
    (root / "musetalkV15/musetalk.json").write_text(json.dumps({"_class_name": "UNet2DConditionModel", **TINY_UNET}))
    models.vae.save_config(root / "sd-vae")
    torch.save(models.vae.state_dict(), root / "sd-vae/diffusion_pytorch_model.bin")
    models.audio.encoder.config.save_pretrained(root / "whisper")
    encoder = {f"model.encoder.{k}": v for k, v in models.audio.encoder.state_dict().items()}
    torch.save({**encoder, "model.decoder.embed_tokens.weight": torch.zeros(4, 32)}, root / "whisper/pytorch_model.bin")
    WhisperFeatureExtractor().save_pretrained(root / "whisper")
    if models.face_parser is not None:
        (root / "face-parse-bisent").mkdir()
        torch.save(models.face_parser.state_dict(), root / "face-parse-bisent/79999_iter.pth")
    return root


def portrait(size: int = 200) -> np.ndarray:
    """The public-domain astronaut portrait (scikit-image), cropped to head and shoulders."""
    return cv2.resize(data.astronaut()[0:330, 90:420], (size, size), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def avatar(models: MuseTalkModels) -> PreparedAvatar:
    return prepare_avatar(idle_clip(portrait(), seconds=0.12), models, settings=SMALL_PREPARE)


def speech(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Speech-like audio: a voiced buzz whose loudness and pitch move (syllables every ~200 ms)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    buzz = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / rate)) + 0.3 * rng.standard_normal(len(t))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 5 * t) ** 2
    return (0.2 * buzz * envelope).astype(np.float32)


@pytest.fixture(scope="module")
def server(models: MuseTalkModels) -> Iterator[MuseTalkServer]:
    """One running render server per test module, on the tiny models."""
    server = MuseTalkServer(models)
    server.start()
    yield server
    server.stop()
