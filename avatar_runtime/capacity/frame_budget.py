"""Admission by GPU frame budget: a worker whose sessions share one render server (MuseTalk) takes
one more only if the frames per second the server sustains hold what its sessions need.

The server's rate is measured (its batch times: ``MuseTalkServer.sustained_fps``); a session's need
is learned from the frames the server rendered live for this worker's sessions (EWMA of frames per
second per session over ``window``), starting at ``initial_fps`` and kept within
[``min_fps``, ``max_fps``]: kiosks speak in bursts, so the floor keeps room for several to speak at
once however quiet the recent past was. Need is not learned from a window in which a session was
admitted (its first seconds are silent). Without a measured rate (no GPU, server not started) it admits.
"""
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FrameBudgetConfig:
    initial_fps: float = 21.5  # 25 fps x 86 % of slots speaking (bench/gpu_worker.py's sessions)
    min_fps: float = 12.5  # at least half of every session's slots may need a rendered face at once
    max_fps: float = 25.0
    target: float = 0.9  # share of the sustained rate the sessions may fill
    window: float = 5.0  # seconds of readings a session's need is learned over
    weight: float = 0.2  # of each new observation in the learned need


class FrameBudget:
    """``sustained`` (frames/s, None: unknown) and ``rendered`` (live frames so far) read the server;
    ``clock`` is injectable for tests."""

    def __init__(self, config: FrameBudgetConfig = FrameBudgetConfig(), *, sustained: Callable[[], float | None],
                 rendered: Callable[[], int], clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.need = min(max(config.initial_fps, config.min_fps), config.max_fps)  # frames/s per session
        self._sustained = sustained
        self._rendered = rendered
        self._clock = clock
        self._readings: deque[tuple[float, int]] = deque()
        self._admitted_at: deque[float] = deque()

    def sample(self, sessions: int) -> None:
        """Take a reading (every second or so); learn a session's need from the window."""
        now = self._clock()
        self._readings.append((now, self._rendered()))
        while len(self._readings) > 2 and now - self._readings[1][0] >= self.config.window:
            self._readings.popleft()
        (start, first), (_, last) = self._readings[0], self._readings[-1]
        if sessions > 0 and now - start >= self.config.window and not self._recently_admitted():
            observed = (last - first) / (now - start) / sessions
            observed = min(self.config.max_fps, max(self.config.min_fps, observed))
            self.need += self.config.weight * (observed - self.need)

    def _recently_admitted(self) -> bool:
        now = self._clock()
        while self._admitted_at and now - self._admitted_at[0] > self.config.window:
            self._admitted_at.popleft()
        return bool(self._admitted_at)

    def room(self, sessions: int) -> float | None:
        """Frames/s left for new sessions beyond ``sessions``; None: the server's rate is unmeasured."""
        sustained = self._sustained()
        if not sustained:
            return None
        return self.config.target * sustained - sessions * self.need

    def admits(self, sessions: int) -> bool:
        room = self.room(sessions)
        return room is None or room >= self.need

    def admitted(self) -> None:
        self._admitted_at.append(self._clock())
