"""CPU time a session spends in each stage, measured where the work runs.

Each stage's work is timed with ``time.thread_time`` in the thread that does it (an inference
thread, ``asyncio.to_thread``'s pool, or the event loop for the short synchronous steps), so
sessions running side by side do not count each other's work. What no session's thread runs is
not counted here: the other threads of a native pool (ONNX Runtime's intra-op threads in
synthesis, CTranslate2's OpenMP team in recognition: the calling thread is one of them, so those
two stages are lower bounds) and the channel layer's serialisation. The worker's process CPU
(``cpu_meter``) holds everything; ``bench.load_kiosks`` reports the difference as "other".
"""
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

STAGES = ("recognition", "synthesis", "rendering", "encoding", "aec", "vad", "transport")


class StageCpu:
    """Seconds of CPU per stage for one session (thread-safe: stages run on several threads)."""

    def __init__(self, thread_time: Callable[[], float] = time.thread_time) -> None:
        self._thread_time = thread_time
        self._lock = threading.Lock()
        self._seconds = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, seconds: float) -> None:
        if stage not in self._seconds:
            raise ValueError(f"unknown stage {stage!r}")
        with self._lock:
            self._seconds[stage] += max(0.0, seconds)

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        """Count the CPU the calling thread spends inside the block (no ``await`` inside it)."""
        started = self._thread_time()
        try:
            yield
        finally:
            self.add(stage, self._thread_time() - started)

    def measured(self, stage: str, fn: Callable[P, T]) -> Callable[P, T]:
        """``fn``, counting its CPU in whichever thread calls it."""
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.measure(stage):
                return fn(*args, **kwargs)
        return run

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seconds)

    @property
    def total(self) -> float:
        with self._lock:
            return sum(self._seconds.values())


# The stage the calling task is in: work it hands to inference threads (which copy the task's
# context) is charged to it there (``charged``), however deep in a backend the hand-off happens.
_current_stage: ContextVar[tuple[StageCpu, str] | None] = ContextVar("cpu_stage", default=None)


@contextmanager
def cpu_stage(cpu: StageCpu, stage: str) -> Iterator[None]:
    """Inside the block, this task's inference-thread work counts as ``stage`` of ``cpu``."""
    token = _current_stage.set((cpu, stage))
    try:
        yield
    finally:
        _current_stage.reset(token)


def charged(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``fn``, charging its CPU in this thread to the context's stage, if there is one."""
    current = _current_stage.get()
    if current is None:
        return fn(*args, **kwargs)
    cpu, stage = current
    with cpu.measure(stage):
        return fn(*args, **kwargs)
