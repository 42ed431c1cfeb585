"""A worker's runtime metrics in the shared cache, for the web process's ``/metrics`` to serve.

Workers run on other hosts with no port Prometheus could reach safely; they already share Redis
with the web processes (the worker registry, backend health). So, like its health, a worker
copies its metric samples (``avatar_runtime.metrics``) into the cache every ``PUBLISH_EVERY``
seconds, and any web process serves every live worker's, labelled with the worker's id.
"""
import asyncio
import time

from django.core.cache import cache

from avatar_runtime.metrics import runtime_samples

METRICS_KEY = "avatar:metrics"
PUBLISH_EVERY = 10.0
STALE_AFTER = 3 * PUBLISH_EVERY  # older: the worker is gone or stuck, and its samples are left out


def read_worker_metrics(now: float | None = None) -> dict[str, list[dict[str, object]]]:
    """The samples of every worker that published within ``STALE_AFTER``, by worker id."""
    value = cache.get(METRICS_KEY)
    now = time.time() if now is None else now
    if not isinstance(value, dict):
        return {}
    return {worker_id: entry["families"] for worker_id, entry in value.items()
            if now - float(entry.get("published_at", 0)) <= STALE_AFTER}


def metrics_publish(worker_id: str, families: list[dict[str, object]], now: float | None = None) -> None:
    # Read-modify-write without a lock, like the worker registry: a lost update is repaired by the
    # worker's next publication; stale entries (workers gone) are dropped here.
    now = time.time() if now is None else now
    value = cache.get(METRICS_KEY)
    published = {worker: entry for worker, entry in (value.items() if isinstance(value, dict) else ())
                 if now - float(entry.get("published_at", 0)) <= STALE_AFTER}
    published[worker_id] = {"published_at": now, "families": families}
    cache.set(METRICS_KEY, published, timeout=None)


def metrics_withdraw(worker_id: str) -> None:
    value = cache.get(METRICS_KEY)
    if isinstance(value, dict) and value.pop(worker_id, None) is not None:
        cache.set(METRICS_KEY, value, timeout=None)


async def metrics_publisher(worker_id: str, every: float = PUBLISH_EVERY) -> None:
    """Publish this process's samples until cancelled; run it as a task the worker owns."""
    while True:
        await asyncio.to_thread(metrics_publish, worker_id, runtime_samples())
        await asyncio.sleep(every)
