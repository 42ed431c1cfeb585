"""Health of an answering service from its recent outcomes: healthy, degraded or down.

Down after several failures in a row; while down, a caller skips the service and uses its
fallback, letting one request through every ``retry_after`` seconds to find out whether it
came back (a circuit breaker's half-open probe). Degraded: it works, but something in the
recent window failed.
"""
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


class HealthTracker:
    def __init__(
        self, *, window: int = 10, down_after: int = 4, retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._down_after = down_after
        self._retry_after = retry_after
        self._clock = clock
        self._last_attempt = float("-inf")

    def record(self, ok: bool) -> None:
        """One request's outcome (each retry counts)."""
        self._outcomes.append(ok)
        self._last_attempt = self._clock()

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
