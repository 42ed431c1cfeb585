"""Avatar workers announce themselves (channel, capacity, load) in the shared cache.

The web process picks a live worker with free capacity; a worker whose heartbeat is older
than ``STALE_AFTER`` is treated as dead. In the embedded layout the cache is in-process; in
production it is Redis, shared by every web and worker process.
"""
import time
from dataclasses import asdict, dataclass

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

    @property
    def free(self) -> int:
        return self.capacity - self.load


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


def workers_with_capacity(exclude: frozenset[str] | set[str] = frozenset()) -> list[WorkerInfo]:
    """Live workers with a free slot, least loaded first."""
    candidates = [w for w in workers_live() if w.free > 0 and w.worker_id not in exclude]
    return sorted(candidates, key=lambda w: (w.load / max(w.capacity, 1), w.worker_id))
