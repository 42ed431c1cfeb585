"""MuseTalk 1.5 on the GPU: our own code around diffusers / transformers modules that load the
official weights unchanged (see shared/MUSETALK.md).

Use:
    models = load_models(models_dir, device="cuda")                  # validates and loads strictly
    avatar = prepare_avatar(load_source(path, 250), models, cache_dir=cache, progress=cb)  # Celery job
    server = MuseTalkServer(models); server.start()                  # one per avatar worker
    renderer = MuseTalkRenderer(server, avatar, session_id=sid)      # one per kiosk session (Renderer)
"""
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, PrepareSettings, load_source, prepare_avatar
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels, load_models, locate_weights

__all__ = [
    "MuseTalkModels", "MuseTalkRenderer", "MuseTalkServer", "PrepareSettings", "PreparedAvatar", "ServerSettings",
    "SessionSettings", "load_models", "load_source", "locate_weights", "prepare_avatar",
]
