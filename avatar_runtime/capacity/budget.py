"""Admission by CPU budget: a worker takes a session only if its measured headroom holds one.

Headroom is the share of the allowed cores the worker may plan to fill (``target``) minus what
the whole host used over the last ``window`` seconds (other processes count: a background job
or another agent leaves less room), minus the cost of sessions admitted within that window (not
yet visible in it). A session's cost is learned from this worker's own sessions (EWMA of the
process's CPU per session), starting at ``initial_cost`` and never above ``max_cost``.

The mean over a window hides a turn's burst: recognising a question takes most of a core for half
a second or more, on top of the sessions' steady video. A machine whose mean leaves room for one
more session can have none left during a turn, and a session admitted into that room makes every
session's frames late at the next turn. So admission also reserves a burst (``room``): the largest
rise of a one-second reading above the window's mean before it, seen in the last ``burst_window`` seconds.
Degrading still judges the mean (``headroom``): a burst that passes is no reason to take video away.
"""
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from avatar_runtime.capacity.cpu_meter import CpuReading, CpuUse, cpu_use, read_cpu


@dataclass(frozen=True)
class BudgetConfig:
    initial_cost: float = 0.6  # cores per session before any was measured (portrait + JPEG at 25 fps)
    max_cost: float = 1.5  # the learned cost never goes above this
    min_cost: float = 0.05
    target: float = 0.85  # share of the allowed cores sessions may fill
    window: float = 3.0  # seconds of readings headroom is judged over
    weight: float = 0.2  # of each new observation in the learned cost
    burst_window: float = 60.0  # seconds over which the largest burst is held in reserve (0: none)


class SessionCost:
    """The learned CPU cost of one session, in cores."""

    def __init__(self, config: BudgetConfig) -> None:
        self.config = config
        self.value = min(config.initial_cost, config.max_cost)
        self.observations = 0

    def observe(self, cores_per_session: float) -> None:
        observed = min(self.config.max_cost, max(self.config.min_cost, cores_per_session))
        self.value += self.config.weight * (observed - self.value)
        self.observations += 1


class CpuBudget:
    """Readings over a window, the learned session cost, and the admission decision.

    ``read`` and ``clock`` are injectable: tests script CPU readings and time.
    """

    def __init__(self, config: BudgetConfig = BudgetConfig(), *, read: Callable[[], CpuReading] = read_cpu,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.cost = SessionCost(config)
        self._read = read
        self._clock = clock
        self._readings: deque[CpuReading] = deque()
        self._admitted_at: deque[float] = deque()
        self._bursts: deque[tuple[float, float]] = deque()  # (at, cores a reading rose above the mean)
        self.use: CpuUse | None = None

    def sample(self, sessions: int) -> CpuUse | None:
        """Take a reading (call every second or so); learn the session cost from it."""
        reading = self._read()
        if self.use is not None and self.config.burst_window > 0:  # how far the last second rose above the mean
            instant = cpu_use(self._readings[-1], reading)
            if instant is not None:
                self._bursts.append((reading.at, max(0.0, instant.host - self.use.host)))
        while self._bursts and reading.at - self._bursts[0][0] > self.config.burst_window:
            self._bursts.popleft()
        self._readings.append(reading)
        while len(self._readings) > 2 and reading.at - self._readings[1].at >= self.config.window:
            self._readings.popleft()  # keep one reading at or before the window's start
        self.use = cpu_use(self._readings[0], reading)
        if self.use is not None and sessions > 0 and not self._recently_admitted():
            self.cost.observe(self.use.process / sessions)
        return self.use

    def _recently_admitted(self) -> bool:
        now = self._clock()
        while self._admitted_at and now - self._admitted_at[0] > self.config.window:
            self._admitted_at.popleft()
        return bool(self._admitted_at)

    @property
    def headroom(self) -> float | None:
        """Cores left for new sessions (negative: the machine is over its target); None before two readings."""
        if self.use is None:
            return None
        self._recently_admitted()  # forget admissions the window has caught up with
        pending = len(self._admitted_at) * self.cost.value
        return self.config.target * self.use.cores - self.use.host - pending

    @property
    def burst(self) -> float:
        """Cores held in reserve for a turn's burst: the largest recent rise above the mean."""
        return max((rise for _at, rise in self._bursts), default=0.0)

    @property
    def room(self) -> float | None:
        """Cores left for new sessions once a burst is reserved; None before two readings."""
        headroom = self.headroom
        return None if headroom is None else headroom - self.burst

    def admits(self) -> bool:
        room = self.room
        return room is None or room >= self.cost.value

    def admitted(self) -> None:
        """A session was just admitted: hold its cost until the readings show it."""
        self._admitted_at.append(self._clock())
