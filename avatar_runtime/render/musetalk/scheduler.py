"""Frame jobs and the earliest-deadline-first queue that the inference server drains in batches.

Every session submits one job per frame that needs the GPU, with the time its slot is shown as
the deadline. The server always takes the jobs whose deadlines come first, across all sessions,
so a session with a burst of audio cannot starve one that is about to miss a frame; jobs further
ahead than ``horizon`` wait, which bounds wasted work when a customer barges in. Idle jobs
(answers rendered ahead of time) run only when no live job is due within the horizon.

How big a batch is comes from the queue itself (``choose_batch``): the smallest captured size that
still meets every queued deadline and keeps up with the frames arriving, so a frame that becomes
urgent (a session's first speech frame) waits behind as short a batch as the load allows.
"""
import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import numpy.typing as npt
import torch

from avatar_runtime.render.musetalk.audio_features import Utterance


class JobKind(Enum):
    RENDER = "render"  # UNet + VAE + composite
    FADE = "fade"  # composite only: the last rendered face fading into the base frame


@dataclass(eq=False)
class FrameJob:
    session: str  # for logs
    avatar: str  # DeviceAvatar key
    frame: int  # base frame index
    deadline: float  # monotonic seconds
    kind: JobKind
    utterance: Utterance | None = None
    utterance_frame: int = 0
    fade_from: "FrameJob | None" = None
    fade_weight: float = 1.0
    future: Future[npt.NDArray[np.uint8] | None] = field(default_factory=Future)
    face: torch.Tensor | None = None  # set by the server once rendered (a fade's source)
    done_at: float | None = None
    cancelled: bool = False
    idle: bool = False  # rendered ahead in idle GPU time; never delays a live job


def batch_limit(costs: dict[int, float], slack: float, max_seconds: float, fallback: int) -> int:
    """The biggest batch that finishes within ``slack`` seconds (the earliest deadline), or when none
    can, the biggest allowed (clears a backlog fastest); never one slower than ``max_seconds``.

    ``costs`` are seconds per batch by size; without them (CPU) every batch may be ``fallback`` big.
    """
    if not costs:
        return fallback
    allowed = [size for size, cost in costs.items() if cost <= max_seconds] or [min(costs)]
    fitting = [size for size in allowed if costs[size] <= slack]
    return max(fitting) if fitting else max(allowed)


def _meets(deadlines: Sequence[float], start: float, seconds: float, size: int, margin: float) -> bool:
    """Whether batches of ``size`` taking ``seconds`` each, back to back from ``start``, finish every
    job (earliest deadline first) at least ``margin`` before its deadline."""
    return all(start + (k // size + 1) * seconds <= deadline - margin for k, deadline in enumerate(deadlines))


def choose_batch(deadlines: Sequence[float], now: float, costs: dict[int, float], *, rate: float = 0.0,
                 headroom: float = 1.2, margin: float = 0.01, fallback: int = 32) -> int:
    """Frames to take in the next batch, from the queued render deadlines (sorted) and ``costs``
    (measured seconds per batch by size).

    The smallest size that meets every deadline and renders at least ``headroom`` x ``rate`` (frames
    arriving per second); else the largest size that meets every deadline; else, when none can, the
    biggest whose first batch still meets the earliest deadline, or the biggest size of all (clears
    a backlog fastest). Without costs (CPU) every batch may be ``fallback`` big.
    """
    if not costs:
        return fallback
    sizes = sorted(costs)
    if not deadlines:
        return sizes[0]
    meeting = [size for size in sizes if _meets(deadlines, now, costs[size], size, margin)]
    keeping_up = [size for size in meeting if size / costs[size] >= headroom * rate]
    if keeping_up:
        return keeping_up[0]
    if meeting:
        return meeting[-1]
    fitting = [size for size in sizes if now + costs[size] <= deadlines[0] - margin]
    return fitting[-1] if fitting else sizes[-1]


class EdfQueue:
    """Thread-safe; ``take`` waits until a job is due within the horizon or the queue is closed."""

    RATE_WINDOW = 1.0  # seconds of render-job arrivals that ``arrival_rate`` counts

    def __init__(self, horizon: float, clock: Callable[[], float]) -> None:
        self.horizon = horizon
        self._clock = clock
        self._heap: list[tuple[float, int, FrameJob]] = []
        self._idle: deque[FrameJob] = deque()
        self._arrivals: deque[float] = deque()
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def push(self, job: FrameJob) -> None:
        with self._cond:
            if job.idle:
                self._idle.append(job)
            else:
                heapq.heappush(self._heap, (job.deadline, next(self._order), job))
                if job.kind is JobKind.RENDER:
                    self._arrivals.append(self._clock())
            self._cond.notify()

    def arrival_rate(self) -> float:
        """Live render jobs pushed per second over the last ``RATE_WINDOW`` seconds."""
        with self._cond:
            cutoff = self._clock() - self.RATE_WINDOW
            while self._arrivals and self._arrivals[0] < cutoff:
                self._arrivals.popleft()
            return len(self._arrivals) / self.RATE_WINDOW

    def render_deadlines(self, count: int) -> list[float]:
        """The ``count`` earliest deadlines of queued live render jobs within the horizon, sorted."""
        with self._cond:
            limit_time = self._clock() + self.horizon
            jobs = heapq.nsmallest(count, (item for item in self._heap
                                           if item[2].kind is JobKind.RENDER and not item[2].cancelled))
            return [deadline for deadline, _, _ in jobs if deadline <= limit_time]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def take(self, limit: Callable[[float], int], timeout: float, idle_limit: int = 8) -> list[FrameJob]:
        """Live jobs due within the horizon, earliest deadline first, with at most ``limit(earliest
        deadline)`` renders among them (fades ride along: they cost no model time); when none is due,
        up to ``idle_limit`` idle jobs.

        Waits at most ``timeout`` seconds (less when a queued job enters the horizon sooner);
        returns [] when nothing became due or the queue was closed.
        """
        with self._cond:
            wait = self._wait_time(timeout)
            if wait > 0 and not self._closed:
                self._cond.wait(wait)
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            limit_time = self._clock() + self.horizon
            if not self._heap or self._heap[0][0] > limit_time:
                return self._take_idle(idle_limit)
            most = limit(self._heap[0][0])
            batch: list[FrameJob] = []
            renders = 0
            while self._heap and self._heap[0][0] <= limit_time:
                job = self._heap[0][2]
                if job.kind is JobKind.RENDER and renders >= most and not job.cancelled:
                    break
                heapq.heappop(self._heap)
                if not job.cancelled:
                    batch.append(job)
                    renders += job.kind is JobKind.RENDER
            return batch

    def _take_idle(self, most: int) -> list[FrameJob]:
        batch: list[FrameJob] = []
        while self._idle and len(batch) < most:
            job = self._idle.popleft()
            if not job.cancelled:
                batch.append(job)
        return batch

    def _wait_time(self, timeout: float) -> float:
        if self._idle:
            return 0.0
        if not self._heap:
            return timeout
        return min(timeout, self._heap[0][0] - self.horizon - self._clock())
