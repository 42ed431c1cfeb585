"""A worker's backend health in the shared cache: published periodically and at once on change.

The cache is Redis in production (every web process sees every worker) and local memory in the
embedded layout (the web process sees its own worker). Readers use
``avatar_runtime.selectors.backend_health_snapshot``.
"""
import asyncio
import contextlib
import time

from django.core.cache import cache

from avatar_runtime.health import BackendStatus, HealthRegistry, health_registry

HEALTH_KEY = "avatar:health"
PUBLISH_EVERY = 10.0  # seconds between publications when nothing changes
STALE_AFTER = 3 * PUBLISH_EVERY  # a snapshot older than this: its worker is gone or stuck


def read_snapshots() -> dict[str, dict[str, object]]:
    value = cache.get(HEALTH_KEY)
    return dict(value) if isinstance(value, dict) else {}


def health_publish(worker_id: str, statuses: list[BackendStatus], now: float | None = None) -> None:
    # Read-modify-write without a lock, like the worker registry: a lost update is repaired by the
    # worker's next publication (at most PUBLISH_EVERY later).
    snapshots = read_snapshots()
    snapshots[worker_id] = {
        "worker_id": worker_id,
        "published_at": time.time() if now is None else now,
        "backends": [status.as_dict() for status in statuses],
    }
    cache.set(HEALTH_KEY, snapshots, timeout=None)


def health_withdraw(worker_id: str) -> None:
    snapshots = read_snapshots()
    if snapshots.pop(worker_id, None) is not None:
        cache.set(HEALTH_KEY, snapshots, timeout=None)


class HealthPublisher:
    """Publishes ``registry``'s snapshot for ``worker_id``; run it as a task the worker owns."""

    def __init__(self, worker_id: str, registry: HealthRegistry = health_registry, every: float = PUBLISH_EVERY) -> None:
        self.worker_id = worker_id
        self.registry = registry
        self.every = every
        self.published = 0

    async def run(self) -> None:
        changed = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Reports come from any thread (warm-up, synthesis threads): wake the loop safely.
        def wake() -> None:
            loop.call_soon_threadsafe(changed.set)

        unsubscribe = self.registry.subscribe(wake)
        try:
            while True:
                changed.clear()  # before reading: a change during the publication publishes again
                await asyncio.to_thread(health_publish, self.worker_id, self.registry.snapshot())
                self.published += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.every):
                        await changed.wait()
        finally:
            unsubscribe()
