"""Avatar workers announce themselves (channel, capacity, load, CPU and GPU headroom) in the shared cache.

The web process picks a live worker with room: a free slot (``capacity`` is a hard cap) and, where
the worker measures its CPU, headroom for a session's cost (and where it renders on a GPU server,
frames per second for a session's need); a worker whose heartbeat is older
than ``STALE_AFTER`` is treated as dead. In the embedded layout the cache is in-process; in
production it is Redis, shared by every web and worker process.
"""
import time
from dataclasses import asdict, dataclass, field

from django.core.cache import cache

REGISTRY_KEY = "avatar:workers"
HEARTBEAT_EVERY = 2.0
STALE_AFTER = 6.0


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    channel: str
    capacity: int
    load: int
    seen: float  # unix time of the last heartbeat
    headroom: float | None = None  # cores left for new sessions, a turn's burst reserved (None: not budgeted by CPU)
    session_cost: float = 0.0  # cores one session costs, as this worker learned it
    min_sessions: int = 0  # sessions it admits whatever its headroom
    held: bool = False  # it stepped a session down lately, with as many sessions as one more would make
    frame_room: float | None = None  # frames/s its render server has left (None: not budgeted by frames)
    session_fps: float = 0.0  # frames/s one session needs from it, as this worker learned it
    # Stats: CPU-seconds per stage of all its sessions so far, and their summed lifetimes (seconds).
    stage_cpu: dict[str, float] = field(default_factory=dict)
    session_seconds: float = 0.0
    quality: dict[str, str] = field(default_factory=dict)  # degraded sessions: session id -> level

    @property
    def free(self) -> int:
        return self.capacity - self.load

    @property
    def has_room(self) -> bool:
        cpu = self.headroom is None or self.headroom >= self.session_cost
        frames = self.frame_room is None or self.frame_room >= self.session_fps
        return self.free > 0 and ((cpu and frames and not self.held) or self.load < self.min_sessions)


def _read() -> dict[str, dict[str, object]]:
    value = cache.get(REGISTRY_KEY)
    return dict(value) if isinstance(value, dict) else {}


def worker_announce(info: WorkerInfo) -> None:
    # Read-modify-write without a lock: a lost update is repaired by the next heartbeat (2 s).
    workers = _read()
    workers[info.worker_id] = asdict(info)
    cache.set(REGISTRY_KEY, workers, timeout=None)


def worker_remove(worker_id: str) -> None:
    workers = _read()
    if workers.pop(worker_id, None) is not None:
        cache.set(REGISTRY_KEY, workers, timeout=None)


def workers_live(now: float | None = None) -> list[WorkerInfo]:
    now = time.time() if now is None else now
    live = []
    for raw in _read().values():
        info = WorkerInfo(**raw)  # type: ignore[arg-type]
        if now - info.seen <= STALE_AFTER:
            live.append(info)
    return live


def workers_with_room(workers: list[WorkerInfo], exclude: frozenset[str] | set[str] = frozenset()) -> list[WorkerInfo]:
    """Of ``workers``, those with room for a session: the most headroom first (in sessions it holds,
    by CPU or by its render server's frames, whichever holds fewer), then the least loaded by count."""
    candidates = [w for w in workers if w.has_room and w.worker_id not in exclude]

    def room(w: WorkerInfo) -> float:
        held = [w.headroom / max(w.session_cost, 1e-3)] if w.headroom is not None else []
        held += [w.frame_room / max(w.session_fps, 1e-3)] if w.frame_room is not None else []
        return -min(held) if held else 0.0

    return sorted(candidates, key=lambda w: (room(w), w.load / max(w.capacity, 1), w.worker_id))
