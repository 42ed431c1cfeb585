"""Degrading sessions in a defined order under a spike, and stepping back up after it.

Levels, in the order a session goes down: full video → reduced video (half the frame rate, half
the resolution) → voice and captions without video. The audio is never touched: every frame
still carries its slice of speech at every level.

A session steps down by itself when its frames fall behind (late-frame ratio over a window above
``late_high``). When the worker's headroom is negative and it shows (some session's frames are
late more than ``late_low`` of the time), the busiest session still at the
highest quality steps down first; only when every session has lost part of its video does one
lose all of it. Headroom alone is no reason: a host over its admission target whose sessions all
keep time (its extra load niced background work, or a target set with margin) keeps full video.
Hysteresis: a session steps back up one level after ``recover_after`` seconds with almost no
late frames (below ``late_low``) and headroom for the step back, and no session moves more often
than every ``step_every`` seconds (the readings must catch up with a step before the next).
"""
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum


class Quality(IntEnum):
    FULL = 0
    REDUCED_VIDEO = 1
    VOICE_ONLY = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def video_every(self) -> int:
        """A new image every this many frames (0: none)."""
        return (1, 2, 0)[self]

    @property
    def video_scale(self) -> float:
        """Resolution the video is sent at, relative to the rendered frame."""
        return (1.0, 0.5, 0.0)[self]


@dataclass(frozen=True)
class DegradeConfig:
    # A frame is late when it leaves this long after its slot: more than a kiosk's jitter buffer
    # absorbs (the WebSocket page starts at 40 ms and grows to 250 ms on underruns; the bench's page
    # model plays 150 ms behind). One frame period (40 ms) took video from sessions whose frames
    # every client still showed on time.
    late_after: float = 0.1
    late_high: float = 0.2  # late-frame ratio that steps a session down
    late_low: float = 0.02  # at most this: the session keeps up
    window: float = 2.0  # seconds of frames the ratio is over
    step_every: float = 2.0  # at most one step per session this often
    recover_after: float = 10.0  # healthy this long before a step back up


class FramePacing:
    """Which of a session's frames left later than their slot on the audio clock (over a window)."""

    def __init__(self, fps: int, config: DegradeConfig = DegradeConfig(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.frame_period = 1.0 / fps
        self.config = config
        self._clock = clock
        self._anchor: float | None = None  # clock time of pts 0
        self._recent: deque[tuple[float, bool]] = deque()
        self.frames = 0
        self.late = 0

    def on_frame(self, pts: float) -> None:
        """A frame was handed to the transport now."""
        now = self._clock()
        if self._anchor is None:
            self._anchor = now - pts
        late = now - (self._anchor + pts) > self.config.late_after
        self.frames += 1
        self.late += late
        self._recent.append((now, late))
        while self._recent and now - self._recent[0][0] > self.config.window:
            self._recent.popleft()

    def late_ratio(self) -> float | None:
        """Late frames over the window; None when too few frames came to tell (a stalled session is
        judged by the worker's headroom)."""
        now = self._clock()
        recent = [late for at, late in self._recent if now - at <= self.config.window]
        if len(recent) < self.config.window / self.frame_period / 4:
            return None
        return sum(recent) / len(recent)


@dataclass(frozen=True)
class SessionLoad:
    session_id: str
    late_ratio: float | None
    cpu: float  # cores the session used lately


@dataclass(frozen=True)
class Step:
    session_id: str
    before: Quality
    after: Quality
    reason: str  # late_frames | no_headroom | recovered


@dataclass
class _Ladder:
    level: Quality = Quality.FULL
    changed_at: float = -math.inf
    healthy_since: float | None = None


class Degrader:
    """Decides the steps; the worker applies them (``plan`` is pure apart from the levels it keeps)."""

    def __init__(self, config: DegradeConfig = DegradeConfig(), clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._ladders: dict[str, _Ladder] = {}

    def level(self, session_id: str) -> Quality:
        ladder = self._ladders.get(session_id)
        return Quality.FULL if ladder is None else ladder.level

    def plan(self, sessions: list[SessionLoad], headroom: float | None, step_up_room: float) -> list[Step]:
        """Steps for now: ``headroom`` in cores (None: not measured), ``step_up_room`` the headroom a
        step back up needs."""
        now = self._clock()
        present = {s.session_id for s in sessions}
        self._ladders = {k: v for k, v in self._ladders.items() if k in present}
        ladders = {s.session_id: self._ladders.setdefault(s.session_id, _Ladder()) for s in sessions}
        steps = [self._step(s.session_id, +1, "late_frames", now) for s in sessions
                 if s.late_ratio is not None and s.late_ratio > self.config.late_high
                 and self._may_step_down(ladders[s.session_id], now)]
        # A session with too few frames to judge is new more often than stalled: it is no evidence.
        strained = any(s.late_ratio is not None and s.late_ratio > self.config.late_low for s in sessions)
        if headroom is not None and headroom < 0 and strained and not steps:
            movable = [s for s in sessions if self._may_step_down(ladders[s.session_id], now)]
            if movable:
                busiest = min(movable, key=lambda s: (ladders[s.session_id].level, -s.cpu, s.session_id))
                steps.append(self._step(busiest.session_id, +1, "no_headroom", now))
        for s in sessions:  # healthy since when (hysteresis)
            ladder = ladders[s.session_id]
            keeps_up = s.late_ratio is None or s.late_ratio <= self.config.late_low
            roomy = headroom is None or headroom >= step_up_room
            if not (keeps_up and roomy) or ladder.level == Quality.FULL:
                ladder.healthy_since = None
            elif ladder.healthy_since is None:
                ladder.healthy_since = now
        if not steps:
            recovered = [s for s in sessions if self._may_step_up(ladders[s.session_id], now)]
            if recovered:  # one at a time, the most degraded first: each step back costs CPU
                first = max(recovered, key=lambda s: (ladders[s.session_id].level, s.session_id))
                steps.append(self._step(first.session_id, -1, "recovered", now))
        return steps

    def _may_step_down(self, ladder: _Ladder, now: float) -> bool:
        return ladder.level < Quality.VOICE_ONLY and now - ladder.changed_at >= self.config.step_every

    def _may_step_up(self, ladder: _Ladder, now: float) -> bool:
        return (ladder.level > Quality.FULL and ladder.healthy_since is not None
                and now - ladder.healthy_since >= self.config.recover_after
                and now - ladder.changed_at >= self.config.step_every)

    def _step(self, session_id: str, direction: int, reason: str, now: float) -> Step:
        ladder = self._ladders[session_id]
        before = ladder.level
        ladder.level = Quality(before + direction)
        ladder.changed_at = now
        ladder.healthy_since = None
        return Step(session_id, before, ladder.level, reason)
