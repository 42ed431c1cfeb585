"""The worker's CPU governor: measures headroom, learns a session's cost, degrades and restores.

Every ``GOVERN_EVERY`` seconds it takes a CPU reading (``capacity.budget``). Recording answers for
lip-sync QA (background work the customer never sees) pauses first, as soon as the worker has no
room for one more session: it would otherwise turn a kiosk away, and then slow the sessions, for
samples (back on with room for a session and a half). Without headroom it asks the degrader
for steps from each session's late frames and CPU and the worker's headroom
(``capacity.degrade``), and applies them: each step is logged with the session id and sent to
the kiosk as a ``quality`` event, which the kiosk's connection records for the console. Where the
sessions render on a shared GPU server, ``frames`` also admits by that server's frame budget
(``capacity.frame_budget``): one more session only while its sustained frames/s hold one more.

Admission judges the room left once a turn's burst is reserved (``CpuBudget.room``), and remembers
an overload: after stepping a session down at N sessions, the worker admits a session only while
that leaves it below N, for ``overload_hold`` seconds. A measured cost and burst are a forecast;
a step down is what this machine actually did with that many sessions.
"""
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from avatar_runtime.capacity.budget import CpuBudget
from avatar_runtime.capacity.degrade import Degrader, Quality, SessionLoad, Step
from avatar_runtime.capacity.frame_budget import FrameBudget
from avatar_runtime.worker.session_runner import SessionRunner

log = logging.getLogger(__name__)

GOVERN_EVERY = 1.0
STEP_UP_SHARE = 0.5  # a step back up needs headroom for this share of a session's cost


@dataclass
class Governor:
    """``budget`` None: sessions are not admitted by CPU (only by count); ``degrader`` None: never
    degraded; ``frames`` None: not admitted by a render server's frame budget."""

    budget: CpuBudget | None
    degrader: Degrader | None
    min_sessions: int = 1  # admitted whatever the budgets say: a worker alone on a busy host still serves
    clock: Callable[[], float] = time.monotonic
    frames: FrameBudget | None = None
    overload_hold: float = 60.0  # seconds a step down at N sessions keeps the worker below N
    _last_tick: float | None = field(default=None, init=False)
    _overloaded: tuple[int, float] | None = field(default=None, init=False)  # (sessions, when) of the last step down
    recording_paused: bool = field(default=False, init=False)

    @property
    def active(self) -> bool:
        """Whether it has anything to do each round."""
        return self.budget is not None or self.degrader is not None or self.frames is not None

    def admits(self, sessions: int) -> bool:
        if sessions < self.min_sessions:
            return True
        return (not self.holding(sessions)
                and (self.budget is None or self.budget.admits())
                and (self.frames is None or self.frames.admits(sessions)))

    def holding(self, sessions: int) -> bool:
        """Whether one more session would take the worker back to where it last had to step one down."""
        if self._overloaded is None:
            return False
        overloaded_at, when = self._overloaded
        if self.clock() - when >= self.overload_hold:
            self._overloaded = None
            return False
        return sessions + 1 >= overloaded_at

    def admitted(self) -> None:
        if self.budget is not None:
            self.budget.admitted()
        if self.frames is not None:
            self.frames.admitted()

    def frame_room(self, sessions: int) -> float | None:
        """Frames/s the render server has left beyond ``sessions`` (None: not budgeted by frames)."""
        return None if self.frames is None else self.frames.room(sessions)

    @property
    def session_fps(self) -> float:
        return 0.0 if self.frames is None else self.frames.need

    @property
    def headroom(self) -> float | None:
        return None if self.budget is None else self.budget.headroom

    @property
    def room(self) -> float | None:
        """Cores left for new sessions with a burst reserved (what admission judges)."""
        return None if self.budget is None else self.budget.room

    @property
    def session_cost(self) -> float:
        return 0.0 if self.budget is None else self.budget.cost.value

    async def tick(self, runners: dict[str, SessionRunner]) -> list[Step]:
        """One round: read, learn, decide, apply."""
        now = self.clock()
        elapsed = GOVERN_EVERY if self._last_tick is None else max(now - self._last_tick, 1e-3)
        self._last_tick = now
        if self.budget is not None:
            self.budget.sample(len(runners))
            self._pause_recordings(runners)
        if self.frames is not None:
            self.frames.sample(len(runners))
        if self.degrader is None:
            return []
        loads = [SessionLoad(session_id, runner.pacing.late_ratio() if runner.pacing else None,
                             runner.cpu_since_last() / elapsed)
                 for session_id, runner in runners.items()]
        steps = self.degrader.plan(loads, self.headroom, STEP_UP_SHARE * self.session_cost)
        for step in steps:
            runner = runners[step.session_id]
            log.warning("session %s: quality %s -> %s (%s; headroom %s cores, late frames %s)", step.session_id,
                        step.before.label, step.after.label, step.reason, _fmt(self.headroom),
                        _fmt(runner.pacing.late_ratio() if runner.pacing else None))
            await runner.set_quality(step.after, step.reason)
        if any(step.after > step.before for step in steps):
            self._overloaded = (len(runners), now)
        return steps

    def _pause_recordings(self, runners: dict[str, SessionRunner]) -> None:
        headroom = self.headroom
        if headroom is None:
            return
        # Paused when another session would not fit; back on with half a session more (hysteresis).
        paused = headroom < self.session_cost * (1 + STEP_UP_SHARE if self.recording_paused else 1.0)
        if paused != self.recording_paused:
            self.recording_paused = paused
            log.warning("answer recording for QA %s (headroom %s cores)",
                        "paused" if self.recording_paused else "resumed", _fmt(headroom))
        for runner in list(runners.values()):
            runner.session.answer_recording_paused = self.recording_paused

    def degraded(self, runners: dict[str, SessionRunner]) -> dict[str, str]:
        return {sid: r.quality.label for sid, r in list(runners.items()) if r.quality != Quality.FULL}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
