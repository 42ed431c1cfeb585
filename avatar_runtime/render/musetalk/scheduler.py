"""Frame jobs and the earliest-deadline-first queue that the inference server drains in batches.

Every session submits one job per frame that needs the GPU, with the time its slot is shown as
the deadline. The server always takes the jobs whose deadlines come first, across all sessions,
so a session with a burst of audio cannot starve one that is about to miss a frame; jobs further
ahead than ``horizon`` wait, which bounds wasted work when a customer barges in.
"""
import heapq
import itertools
import threading
from collections.abc import Callable
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


class EdfQueue:
    """Thread-safe; ``take`` waits until a job is due within the horizon or the queue is closed."""

    def __init__(self, horizon: float, clock: Callable[[], float]) -> None:
        self.horizon = horizon
        self._clock = clock
        self._heap: list[tuple[float, int, FrameJob]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def push(self, job: FrameJob) -> None:
        with self._cond:
            heapq.heappush(self._heap, (job.deadline, next(self._order), job))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def take(self, limit: Callable[[float], int], timeout: float) -> list[FrameJob]:
        """Live jobs due within the horizon, earliest deadline first, at most ``limit(earliest deadline)``.

        Waits at most ``timeout`` seconds (less when a queued job enters the horizon sooner);
        returns [] when nothing became due or the queue was closed.
        """
        with self._cond:
            wait = self._wait_time(timeout)
            if wait > 0 and not self._closed:
                self._cond.wait(wait)
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            if not self._heap:
                return []
            limit_time = self._clock() + self.horizon
            most = limit(self._heap[0][0])
            batch: list[FrameJob] = []
            while self._heap and len(batch) < most and self._heap[0][0] <= limit_time:
                job = heapq.heappop(self._heap)[2]
                if not job.cancelled:
                    batch.append(job)
            return batch

    def _wait_time(self, timeout: float) -> float:
        if not self._heap:
            return timeout
        return min(timeout, self._heap[0][0] - self.horizon - self._clock())
