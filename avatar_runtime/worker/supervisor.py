"""Several worker processes from one command, each restarted when it dies.

A worker's sessions share one Python interpreter: on a CPU host their frame loops, JPEG encoding,
echo cancellation and VAD take turns on its lock (the GIL), so one process holds about two
sessions at full video whatever the cores (``bench/results/load_kiosks_s27.md``). The supervisor
runs ``processes`` copies of the worker's command side by side; each announces itself in the
registry as a worker of its own, and kiosks are placed on whichever has room.

A copy that exits is started again, after a pause that doubles while it keeps failing soon after
it started (a missing model, Redis down) and resets once one ran long enough. A copy that fails
``GIVE_UP_AFTER`` starts in a row stops the whole command with an error, so that what runs the
command (systemd, the container runtime) sees it. ``stop`` (on SIGTERM or SIGINT) sends each copy
SIGTERM, waits for its own orderly shutdown, then kills what is left.
"""
import logging
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

RESTART_PAUSE = 1.0  # seconds before the first restart; doubles up to MAX_RESTART_PAUSE
MAX_RESTART_PAUSE = 30.0
RAN_LONG_ENOUGH = 120.0  # a copy that ran this long had started well: its next failure starts afresh
GIVE_UP_AFTER = 5  # failed starts in a row
STOP_GRACE = 40.0  # a worker's shutdown is bounded per step (server.SHUTDOWN_STEP_TIMEOUT)
POLL_EVERY = 0.5


@dataclass
class _Copy:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0  # failed starts in a row
    restart_at: float | None = None


class WorkerSupervisor:
    """Runs ``processes`` copies of ``command`` until ``stop()``; ``run()`` returns the exit status."""

    def __init__(self, command: Sequence[str], processes: int, *, restart_pause: float = RESTART_PAUSE,
                 ran_long_enough: float = RAN_LONG_ENOUGH, give_up_after: int = GIVE_UP_AFTER,
                 stop_grace: float = STOP_GRACE) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.command = list(command)
        self.copies = [_Copy(index) for index in range(processes)]
        self.restart_pause = restart_pause
        self.ran_long_enough = ran_long_enough
        self.give_up_after = give_up_after
        self.stop_grace = stop_grace
        self._stopping = threading.Event()
        self.restarts = 0

    def stop(self) -> None:
        """Ask every copy to shut down (from a signal handler or another thread)."""
        self._stopping.set()

    def run(self) -> int:
        for copy in self.copies:
            self._start(copy)
        status = 0
        while not self._stopping.wait(POLL_EVERY):
            if not self._tend():
                status = 1
                break
        self._stop_all()
        return status

    def _start(self, copy: _Copy) -> None:
        copy.process = subprocess.Popen(self.command)
        copy.started = time.monotonic()
        copy.restart_at = None
        log.info("worker process %d started (pid %d)", copy.index, copy.process.pid)

    def _tend(self) -> bool:
        """Restart copies that exited; False once one has failed too often to go on."""
        now = time.monotonic()
        for copy in self.copies:
            if copy.restart_at is not None:
                if now >= copy.restart_at:
                    self.restarts += 1
                    self._start(copy)
                continue
            assert copy.process is not None
            code = copy.process.poll()
            if code is None:
                continue
            ran = now - copy.started
            copy.failures = 1 if ran >= self.ran_long_enough else copy.failures + 1
            if copy.failures >= self.give_up_after:
                log.error("worker process %d exited with status %d, %d starts in a row; giving up",
                          copy.index, code, copy.failures)
                return False
            pause = min(MAX_RESTART_PAUSE, self.restart_pause * 2 ** (copy.failures - 1))
            copy.restart_at = now + pause
            log.warning("worker process %d (pid %d) exited with status %d after %.0fs; restarting in %.0fs",
                        copy.index, copy.process.pid, code, ran, pause)
        return True

    def _stop_all(self) -> None:
        running = [c.process for c in self.copies if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()  # SIGTERM: the worker's own orderly shutdown
        deadline = time.monotonic() + self.stop_grace
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker process pid %d did not stop within %.0fs; killing it", process.pid,
                            self.stop_grace)
                process.kill()
                process.wait()
