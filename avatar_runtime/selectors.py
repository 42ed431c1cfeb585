"""Reads of the runtime's shared state, as plain data for the API, the console and ``doctor``."""
import time

from avatar_runtime.health import Health
from avatar_runtime.worker.health_publisher import STALE_AFTER, read_snapshots

_SEVERITY = {Health.HEALTHY.value: 0, Health.DEGRADED.value: 1, Health.DOWN.value: 2}


def backend_health_snapshot(now: float | None = None) -> list[dict[str, object]]:
    """The latest backend health published by each avatar worker, worst first.

    Each worker: ``worker_id``, ``published_at`` (unix time), ``age_s``, ``stale`` (no publication
    for a while: the worker is gone or stuck), ``state`` (its worst backend's) and ``backends``:
    one ``{component, state, backend, reason, since, checked}`` per component (``vad``, ``asr``,
    ``llm``, ``tts:<language>``, ``render``, ``qa``, ``aec`` ...).
    """
    now = time.time() if now is None else now
    workers = []
    for raw in read_snapshots().values():
        backends = [dict(b) for b in raw.get("backends", []) if isinstance(b, dict)]  # type: ignore[attr-defined]
        published = float(raw.get("published_at", 0.0))  # type: ignore[arg-type]
        worst = max((str(b.get("state")) for b in backends), key=lambda s: _SEVERITY.get(s, 2),
                    default=Health.HEALTHY.value)
        workers.append({
            "worker_id": str(raw.get("worker_id", "")),
            "published_at": published,
            "age_s": round(max(0.0, now - published), 1),
            "stale": now - published > STALE_AFTER,
            "state": worst,
            "backends": sorted(backends, key=lambda b: str(b.get("component"))),
        })
    return sorted(workers, key=lambda w: (-_SEVERITY.get(str(w["state"]), 2), str(w["worker_id"])))
