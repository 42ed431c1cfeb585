"""Find, check and load the official MuseTalk 1.5 weights from ``MODELS_DIR``.

Layout (files the operator provides, unchanged):
``musetalkV15/unet.pth`` + ``musetalk.json``, ``sd-vae/`` (config + weights), ``whisper/``
(config, weights, preprocessor config) and, optionally, ``face-parse-bisent/79999_iter.pth``.
Every state dict loads strictly into our modules; configs are checked against ``ArchitectureSpec``.
"""
import hashlib
import inspect
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import load_file
from torch import nn
from transformers import WhisperConfig, WhisperFeatureExtractor
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from avatar_runtime.errors import ModelMissingError
from avatar_runtime.render.musetalk.audio_features import AudioEncoder, LogMel
from avatar_runtime.render.musetalk.bisenet import BiSeNet
from avatar_runtime.render.musetalk.config import MUSETALK_V15, ArchitectureSpec

PROVIDER = "musetalk"
UNET_WEIGHTS = "musetalkV15/unet.pth"
UNET_CONFIG = "musetalkV15/musetalk.json"
VAE_DIR = "sd-vae"
WHISPER_DIR = "whisper"
FACE_PARSER_WEIGHTS = "face-parse-bisent/79999_iter.pth"
_WEIGHT_NAMES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", "model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class WeightFiles:
    unet: Path
    unet_config: Path
    vae_config: Path
    vae: Path
    whisper_config: Path
    whisper: Path
    whisper_preprocessor: Path
    face_parser: Path | None

    def fingerprint(self) -> str:
        """Changes when any weight file is replaced (path, size, modification time)."""
        digest = hashlib.sha256()
        for path in (self.unet, self.unet_config, self.vae, self.whisper, self.face_parser):
            if path is not None:
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return digest.hexdigest()[:16]


def _weights_in(directory: Path) -> Path | None:
    return next((directory / name for name in _WEIGHT_NAMES if (directory / name).is_file()), None)


def locate_weights(models_dir: Path) -> WeightFiles:
    """The weight files under ``models_dir``; ``ModelMissingError`` names every missing one."""
    vae_dir, whisper_dir = models_dir / VAE_DIR, models_dir / WHISPER_DIR
    wanted: dict[str, Path | None] = {
        UNET_WEIGHTS: models_dir / UNET_WEIGHTS,
        UNET_CONFIG: models_dir / UNET_CONFIG,
        f"{VAE_DIR}/config.json": vae_dir / "config.json",
        f"{VAE_DIR}/diffusion_pytorch_model.bin (or .safetensors)": _weights_in(vae_dir),
        f"{WHISPER_DIR}/config.json": whisper_dir / "config.json",
        f"{WHISPER_DIR}/pytorch_model.bin (or model.safetensors)": _weights_in(whisper_dir),
        f"{WHISPER_DIR}/preprocessor_config.json": whisper_dir / "preprocessor_config.json",
    }
    missing = [name for name, path in wanted.items() if path is None or not path.is_file()]
    if missing:
        raise ModelMissingError(PROVIDER, f"missing under {models_dir}: {', '.join(missing)}")
    face_parser = models_dir / FACE_PARSER_WEIGHTS
    vae, whisper = _weights_in(vae_dir), _weights_in(whisper_dir)
    assert vae is not None and whisper is not None  # checked above
    return WeightFiles(unet=models_dir / UNET_WEIGHTS, unet_config=models_dir / UNET_CONFIG, vae_config=vae_dir / "config.json",
                       vae=vae, whisper_config=whisper_dir / "config.json", whisper=whisper,
                       whisper_preprocessor=whisper_dir / "preprocessor_config.json",
                       face_parser=face_parser if face_parser.is_file() else None)


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON config ({exc})") from exc
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return config


def check_config(what: str, config: Mapping[str, Any], expected: Mapping[str, Any], accepted: set[str] | None = None) -> None:
    """Raise ``ValueError`` listing every expected value that differs and every unknown key."""
    problems = []
    for key, want in expected.items():
        have = config.get(key, "<absent>")
        if (list(have) if isinstance(have, list | tuple) else have) != (list(want) if isinstance(want, list | tuple) else want):
            problems.append(f"{key}={have!r} (expected {want!r})")
    if accepted is not None:
        problems += [f"unknown key {k!r}" for k in sorted(config) if not k.startswith("_") and k not in accepted]
    if problems:
        raise ValueError(f"{what} does not match MuseTalk 1.5: " + "; ".join(problems))


def _init_keys(cls: type) -> set[str]:
    return set(inspect.signature(cls).parameters)


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a plain state dict, found {type(state).__name__}")
    return state


def strict_load(module: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """Load every tensor into ``module`` (built on the meta device) or say exactly what differs."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = [f"{len(missing)} missing (e.g. {missing[:3]})" if missing else "",
                 f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})" if unexpected else "",
                 f"shape mismatches: {shapes[:3]}" if shapes else ""]
        raise ValueError(f"{what}: state dict does not fit the architecture: " + "; ".join(p for p in parts if p))
    module.load_state_dict(dict(state), strict=True, assign=True)


def whisper_encoder_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The encoder's tensors of a Whisper checkpoint (full model or encoder alone)."""
    for prefix in ("model.encoder.", "encoder."):
        picked = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if picked:
            return picked
    return dict(state)


def resolve_dtype(device: torch.device, dtype: torch.dtype | None) -> torch.dtype:
    """fp16 by default on the GPU (as the release runs), fp32 on the CPU."""
    if device.type == "cpu":
        if dtype not in (None, torch.float32, torch.bfloat16):
            raise ValueError(f"{dtype} is not supported on the CPU; use float32 or bfloat16")
        return dtype or torch.float32
    if dtype not in (None, torch.float16, torch.bfloat16, torch.float32):
        raise ValueError(f"unsupported dtype {dtype}")
    return dtype or torch.float16


@dataclass
class MuseTalkModels:
    # diffusers modules (UNet2DConditionModel, AutoencoderKL); typed Any because mypy cannot follow
    # diffusers' lazily imported base classes back to nn.Module.
    unet: Any
    vae: Any
    audio: AudioEncoder
    face_parser: BiSeNet | None
    device: torch.device
    dtype: torch.dtype
    fingerprint: str  # identifies the weights, for caches derived from them


def _finish(models: MuseTalkModels) -> MuseTalkModels:
    for module in (models.unet, models.vae, models.audio, models.face_parser):
        if module is None:
            continue
        module.eval().requires_grad_(False)
        leftovers = [n for n, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
        if leftovers:
            raise ValueError(f"{type(module).__name__}: tensors never loaded: {leftovers[:3]}")
    models.unet.to(models.device, models.dtype)
    models.vae.to(models.device, models.dtype)
    cast(nn.Module, models.audio.encoder).to(models.device, models.dtype)  # transformers types .to oddly
    models.audio.logmel.to(models.device)  # the mel front end stays float32
    if models.face_parser is not None:
        models.face_parser.to(models.device)  # preparation only: float32 is fine
    return models


def load_models(models_dir: Path, *, device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                spec: ArchitectureSpec = MUSETALK_V15) -> MuseTalkModels:
    """Validate the weight directory and load every model strictly, on ``device`` in ``dtype``."""
    files = locate_weights(models_dir)
    unet_config = read_config(files.unet_config)
    check_config(UNET_CONFIG, unet_config, spec.unet, _init_keys(UNet2DConditionModel))
    vae_config = read_config(files.vae_config)
    check_config(f"{VAE_DIR}/config.json", vae_config, spec.vae)
    whisper_config = WhisperConfig.from_pretrained(files.whisper_config.parent)
    check_config(f"{WHISPER_DIR}/config.json", whisper_config.to_dict(), spec.whisper)
    extractor = WhisperFeatureExtractor.from_pretrained(files.whisper_preprocessor.parent)
    check_config(f"{WHISPER_DIR}/preprocessor_config.json", extractor.to_dict(), spec.audio)

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(unet_config)
        vae = AutoencoderKL.from_config(vae_config)
        encoder = WhisperEncoder(whisper_config)
        parser = BiSeNet() if files.face_parser is not None else None
    strict_load(unet, load_state_dict(files.unet), UNET_WEIGHTS)
    strict_load(vae, load_state_dict(files.vae), f"{VAE_DIR}/{files.vae.name}")
    strict_load(encoder, whisper_encoder_state(load_state_dict(files.whisper)), f"{WHISPER_DIR}/{files.whisper.name}")
    if parser is not None and files.face_parser is not None:
        strict_load(parser, load_state_dict(files.face_parser), FACE_PARSER_WEIGHTS)
    logmel = LogMel(extractor.mel_filters, extractor.n_fft, extractor.hop_length)
    device = torch.device(device)
    return _finish(MuseTalkModels(unet, vae, AudioEncoder(logmel, encoder), parser, device,
                                  resolve_dtype(device, dtype), files.fingerprint()))


def build_models(*, unet_config: Mapping[str, Any], vae_config: Mapping[str, Any], whisper_config: Mapping[str, Any],
                 device: str | torch.device = "cpu", dtype: torch.dtype | None = None, face_parser: bool = False,
                 seed: int = 0) -> MuseTalkModels:
    """The same modules with random weights (benchmarks: speed does not depend on weight values)."""
    device = torch.device(device)
    torch.manual_seed(seed)
    with device:
        unet = UNet2DConditionModel.from_config(dict(unet_config))
        vae = AutoencoderKL.from_config(dict(vae_config))
        encoder = WhisperEncoder(WhisperConfig(**whisper_config))
        parser = BiSeNet() if face_parser else None
    extractor = WhisperFeatureExtractor()
    logmel = LogMel(extractor.mel_filters, extractor.n_fft, extractor.hop_length)
    return _finish(MuseTalkModels(unet, vae, AudioEncoder(logmel, encoder), parser, device,
                                  resolve_dtype(device, dtype), f"random-{seed}"))
