"""Deploy-time build of the frame engine's compiled artefacts (``manage.py musetalk_build``)."""
import logging
from pathlib import Path
from typing import Any

import torch

from avatar_runtime.render.musetalk.compile_cache import CompileCache
from avatar_runtime.render.musetalk.config import RELEASE_CONFIGS
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import build_models, load_models

log = logging.getLogger(__name__)


def musetalk_build(models_dir: Path, *, dtype: torch.dtype = torch.float16, random_weights: bool = False,
                   force: bool = False, settings: ServerSettings | None = None) -> dict[str, Any]:
    """Compile and capture the engine as a worker would, and store its artefacts beside the weights.

    ``random_weights`` builds the release architecture without its weight files: the compiled kernels
    are the same, so a host can be prepared before the weights arrive. ``force`` rebuilds a ready entry.
    """
    if not torch.cuda.is_available():
        raise RuntimeError("musetalk_build needs a CUDA GPU: the artefacts are built for the GPU that runs them")
    if random_weights:
        models = build_models(unet_config=RELEASE_CONFIGS["unet"], vae_config=RELEASE_CONFIGS["vae"],
                              whisper_config=RELEASE_CONFIGS["whisper"], device="cuda", dtype=dtype)
    else:
        models = load_models(models_dir, device="cuda", dtype=dtype)
    cache = CompileCache.beside_weights(models_dir)
    server = MuseTalkServer(models, settings)
    if force:
        cache.remove(server.engine.cache_fields())
    server.start(cache)
    server.stop()
    state = cache.state(server.engine.cache_fields())
    return {**server.startup, "state": state.status, "detail": state.detail, "path": str(cache.root / state.key)}
