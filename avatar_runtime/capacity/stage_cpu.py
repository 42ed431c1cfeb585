"""CPU time a session spends in each stage, measured where the work runs.

Each stage's work is timed with ``time.thread_time`` in the thread that does it (``asyncio.to_thread``'s
pool for drawing and encoding, the event loop for the short synchronous steps), so sessions running
side by side do not count each other's work. Recognition and synthesis run in native thread pools
(CTranslate2's, ONNX Runtime's) beside the inference thread that calls them, which may just wait:
for those calls (``charged``) the stage gets the process's CPU during the call, less what the other
stages measured meanwhile, shared among the calls in flight together (the caller's own thread time
at least). That still holds the event loop's unmeasured work of the moment: an upper estimate.
The channel layer's serialisation is in no stage; the worker's process CPU (``cpu_meter``) holds
everything, and ``bench.load_kiosks`` reports the difference as "other".
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
_all_lock = threading.Lock()
_all_measured = 0.0  # stage CPU measured so far, every session of the process
_charged_in_flight = 0


def _measured_so_far() -> float:
    with _all_lock:
        return _all_measured


class StageCpu:
    """Seconds of CPU per stage for one session (thread-safe: stages run on several threads)."""

    def __init__(self, thread_time: Callable[[], float] = time.thread_time) -> None:
        self._thread_time = thread_time
        self._lock = threading.Lock()
        self._seconds = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, seconds: float) -> None:
        if stage not in self._seconds:
            raise ValueError(f"unknown stage {stage!r}")
        global _all_measured
        with self._lock:
            self._seconds[stage] += max(0.0, seconds)
        with _all_lock:
            _all_measured += max(0.0, seconds)

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
    """Call ``fn``, charging the CPU it costs (native pool threads included, see the module's
    docstring) to the context's stage, if there is one."""
    global _charged_in_flight
    current = _current_stage.get()
    if current is None:
        return fn(*args, **kwargs)
    cpu, stage = current
    with _all_lock:
        _charged_in_flight += 1
        together = _charged_in_flight
    process, others, own = time.process_time(), _measured_so_far(), time.thread_time()
    try:
        return fn(*args, **kwargs)
    finally:
        process, others, own = (time.process_time() - process, _measured_so_far() - others,
                                time.thread_time() - own)
        with _all_lock:
            together = max(together, _charged_in_flight)
            _charged_in_flight -= 1
        cpu.add(stage, max(own, (process - others) / together))
