"""The worker's MuseTalk: one shared server, and each avatar prepared once per process.

Sessions get a ``MuseTalkRenderer`` on the one server for their avatar's base clip (its video, or an
idle clip made from its photo). Preparation runs once per clip (again when its file is replaced) and is
read from the preparation job's disk cache (``cache_dir``) when that job made it with these weights;
a clip that cannot be prepared (no face) is remembered as such, so later sessions do not retry it.
"""
import logging
import threading
from pathlib import Path

from avatar_runtime.render.musetalk.compile_cache import CompileCache
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, PrepareSettings, load_source, prepare_avatar
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels

log = logging.getLogger(__name__)


class LiveMuseTalk:
    def __init__(self, models: MuseTalkModels, *, cache_dir: Path | None, server: ServerSettings | None = None,
                 prepare: PrepareSettings | None = None, session: SessionSettings | None = None) -> None:
        self.models = models
        self.server = MuseTalkServer(models, server)
        self.cache_dir = cache_dir
        self.prepare_settings = prepare or PrepareSettings()
        self.session_settings = session
        self._avatars: dict[str, tuple[int, PreparedAvatar | Exception]] = {}  # by path: mtime, outcome
        self._lock = threading.Lock()

    def start(self, compile_cache: CompileCache | None) -> None:
        """Compile (from ``compile_cache`` where it holds this GPU's artefacts) and start the server."""
        self.server.start(compile_cache)

    def stop(self) -> None:
        self.server.stop()

    def avatar(self, clip: Path) -> PreparedAvatar:
        """The prepared avatar for ``clip``; ``RuntimeError`` naming what failed (tried once)."""
        version = clip.stat().st_mtime_ns
        with self._lock:  # one preparation at a time: it shares the models with the inference thread's GPU
            known = self._avatars.get(str(clip))
            if known is None or known[0] != version:  # new, or the file was replaced
                try:
                    frames = load_source(clip, self.prepare_settings.max_frames)
                    outcome: PreparedAvatar | Exception = prepare_avatar(
                        frames, self.models, cache_dir=self.cache_dir, settings=self.prepare_settings)
                except Exception as exc:  # noqa: BLE001 - remembered and re-raised to each session that asks
                    outcome = exc
                known = self._avatars[str(clip)] = (version, outcome)
            found = known[1]
        if isinstance(found, Exception):
            raise RuntimeError(f"MuseTalk cannot prepare {clip.name}: {found}") from found
        return found

    def renderer(self, clip: Path, session_id: str) -> MuseTalkRenderer:
        return MuseTalkRenderer(self.server, self.avatar(clip), session_id=session_id, settings=self.session_settings)
