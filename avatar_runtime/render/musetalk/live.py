"""The worker's MuseTalk: one shared server, and each avatar prepared once per process.

Sessions get a ``MuseTalkRenderer`` on the one server for their avatar's base clip (its video, or an
idle clip made from its photo). Preparation runs once per clip (again when its file is replaced) and is
read from the preparation job's disk cache (``cache_dir``) when that job made it with these weights;
a clip that cannot be prepared (no face) is remembered as such, so later sessions do not retry it.

Answers rendered ahead: ``start_prerendering`` runs ``prerender`` every ``every`` seconds in a
thread, which renders the answer audio cache's entries (``sources``) for every avatar this worker has
prepared, through the server's idle queue (only when no live frame is due), and drops the frames of
audio that left the cache; the store (``cache_dir/prerendered``) stays under ``prerender_max_bytes``.
Sessions replay them when a cached answer plays (``MuseTalkRenderer.prerendered``).
"""
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.render.musetalk.compile_cache import CompileCache
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, PrepareSettings, load_source, prepare_avatar
from avatar_runtime.render.musetalk.prerender import Prerenderer, PrerenderStore, prerender_answers, renderer_config
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels

log = logging.getLogger(__name__)

AnswerSources = Callable[[], Iterable[tuple[str, Callable[[], Samples]]]]  # (audio key, loader of its 16 kHz audio)


class LiveMuseTalk:
    def __init__(self, models: MuseTalkModels, *, cache_dir: Path | None, server: ServerSettings | None = None,
                 prepare: PrepareSettings | None = None, session: SessionSettings | None = None,
                 prerender_max_bytes: int = 2**30) -> None:
        self.models = models
        self.server = MuseTalkServer(models, server)
        self.cache_dir = cache_dir
        self.prepare_settings = prepare or PrepareSettings()
        self.session_settings = session
        self.store: PrerenderStore | None = None
        if cache_dir is not None:
            config = renderer_config(models, decode_from=self.server.engine.settings.decode_from)
            self.store = PrerenderStore(cache_dir / "prerendered", config, max_bytes=prerender_max_bytes)
        self._avatars: dict[str, tuple[int, PreparedAvatar | Exception]] = {}  # by path: mtime, outcome
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._prerender_thread: threading.Thread | None = None

    def start(self, compile_cache: CompileCache | None) -> None:
        """Compile (from ``compile_cache`` where it holds this GPU's artefacts) and start the server."""
        self.server.start(compile_cache)

    def stop(self) -> None:
        self._stop.set()
        if self._prerender_thread is not None:
            self._prerender_thread.join(10.0)
        self.server.stop()

    def prepared(self) -> list[PreparedAvatar]:
        """The avatars this worker has prepared (those its kiosks show)."""
        with self._lock:
            return [outcome for _, outcome in self._avatars.values() if isinstance(outcome, PreparedAvatar)]

    def prerender(self, sources: AnswerSources) -> tuple[int, int]:
        """Render ahead what the answer audio cache holds for the prepared avatars, drop what left
        it; (answers rendered, audio entries dropped). Nothing without a store (no ``cache_dir``)."""
        if self.store is None:
            return 0, 0
        made, dropped = prerender_answers(Prerenderer(self.server, self.store), self.prepared(), sources())
        if made or dropped:
            log.info("musetalk answers rendered ahead: %d rendered, %d dropped", made, dropped)
        return made, dropped

    def start_prerendering(self, sources: AnswerSources, every: float) -> None:
        """Run ``prerender`` now and every ``every`` seconds in a background thread until ``stop``."""
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.prerender(sources)
                except Exception:
                    log.exception("musetalk pre-render round failed")
                self._stop.wait(every)

        self._prerender_thread = threading.Thread(target=run, name="musetalk-prerender", daemon=True)
        self._prerender_thread.start()

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
        return MuseTalkRenderer(self.server, self.avatar(clip), session_id=session_id, settings=self.session_settings,
                                store=self.store)
