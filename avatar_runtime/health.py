"""Health of every backend in this process: healthy, degraded or down, with a reason and a time.

Two pieces:

- :class:`HealthTracker` judges one service from its recent outcomes and doubles as its circuit
  breaker: down after several failures in a row; while down, callers skip the service and use
  their fallback, letting one request through every ``retry_after`` seconds to find out whether
  it came back (a half-open probe). Degraded: it works, but something in the recent window failed.
- :class:`HealthRegistry` holds the latest :class:`BackendStatus` per component (``vad``, ``asr``,
  ``llm``, ``tts:en`` ...). Trackers report into it; so does the worker's warm-up. The worker
  publishes its snapshot to the shared cache periodically and whenever it changes
  (``avatar_runtime.worker.health_publisher``); ``doctor``, the API and the console read it.

Nothing here imports Django: the registry is plain data and a lock.
"""
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum

from avatar_runtime.metrics import BACKEND_REQUESTS


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class BackendStatus:
    component: str  # "vad", "asr", "llm", "tts:en", "render", "qa", "aec"
    state: Health
    backend: str  # the backend serving it now ("edge", "piper", "qwen", "extractive" ...)
    reason: str
    since: float  # unix time the state (or reason) last changed
    checked: float  # unix time of the last report

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "state": str(self.state)}


class HealthRegistry:
    """The latest status per component; listeners hear every change (not every report)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[str, BackendStatus] = {}
        self._listeners: list[Callable[[], None]] = []
        self._clock = clock
        self.version = 0  # bumped on every change

    def report(self, component: str, state: Health, backend: str, reason: str = "") -> BackendStatus:
        now = self._clock()
        with self._lock:
            old = self._statuses.get(component)
            changed = old is None or (old.state, old.backend, old.reason) != (state, backend, reason)
            since = now if changed or old is None else old.since
            status = BackendStatus(component, state, backend, reason, since, now)
            self._statuses[component] = status
            if changed:
                self.version += 1
            listeners = list(self._listeners) if changed else []
        for listener in listeners:
            listener()
        return status

    def get(self, component: str) -> BackendStatus | None:
        with self._lock:
            return self._statuses.get(component)

    def snapshot(self) -> list[BackendStatus]:
        with self._lock:
            return sorted(self._statuses.values(), key=lambda s: s.component)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` (from the reporting thread) on every change; returns the unsubscriber."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def clear(self) -> None:
        with self._lock:
            self._statuses.clear()
            self.version += 1


# The process's registry: one per worker process (the embedded layout shares it with the web process).
health_registry = HealthRegistry()


class HealthTracker:
    """A service's health from its recent outcomes, and its circuit breaker.

    With a ``component``, every outcome is reported to ``registry`` (the process's by default),
    so ``doctor``, the API and the console see it; ``fallback`` names who serves while it is down.
    """

    def __init__(
        self, *, window: int = 10, down_after: int = 4, retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic, component: str | None = None, backend: str = "",
        fallback: str = "", registry: HealthRegistry | None = None,
    ) -> None:
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._down_after = down_after
        self._retry_after = retry_after
        self._clock = clock
        self._last_attempt = float("-inf")
        self.component = component
        self.backend = backend
        self.fallback = fallback
        self._registry = registry
        self.last_error = ""

    def record(self, ok: bool, reason: str = "") -> None:
        """One request's outcome (each retry counts); ``reason`` says why a failure failed."""
        self._outcomes.append(ok)
        self._last_attempt = self._clock()
        if self.component is not None:
            BACKEND_REQUESTS.labels(self.component, self.backend, "ok" if ok else "failed").inc()
        if not ok:
            self.last_error = reason or "request failed"
        self._report()

    @property
    def consecutive_failures(self) -> int:
        count = 0
        for ok in reversed(self._outcomes):
            if ok:
                break
            count += 1
        return count

    @property
    def state(self) -> Health:
        if self.consecutive_failures >= self._down_after:
            return Health.DOWN
        if not all(self._outcomes):
            return Health.DEGRADED
        return Health.HEALTHY

    def should_try(self) -> bool:
        """False while down, except for one probe every ``retry_after`` seconds."""
        return self.state is not Health.DOWN or self._clock() - self._last_attempt >= self._retry_after

    def _report(self) -> None:
        if self.component is None:
            return
        state, backend, reason = self.state, self.backend, ""
        if state is Health.DOWN:
            reason = f"{self.backend} down: {self.last_error}"
            if self.fallback:  # the component still works, on its fallback
                state, backend, reason = Health.DEGRADED, self.fallback, f"{reason}; {self.fallback} serves"
        elif state is Health.DEGRADED:
            reason = f"{self.backend} failed recently: {self.last_error}"
        (self._registry or health_registry).report(self.component, state, backend, reason)
