"""The worker supervisor over real child processes: each copy runs, a dead one comes back, one that
keeps failing stops the command with an error, and a stop reaches every copy's own shutdown."""
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from avatar_runtime.worker.supervisor import WorkerSupervisor

# A stand-in worker: notes its pid when it starts and "stopped" when it gets SIGTERM, then exits cleanly.
CHILD = """
import os, signal, sys, time
log = sys.argv[1]
def stop(*_):
    with open(log, "a") as f:
        f.write(f"stopped {os.getpid()}\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(log, "a") as f:
    f.write(f"started {os.getpid()}\\n")
while True:
    time.sleep(0.05)
"""


def lines(log: Path, kind: str) -> list[int]:
    text = log.read_text() if log.exists() else ""
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith(kind)]


def until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def running(supervisor: WorkerSupervisor) -> tuple[threading.Thread, list[int]]:
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(supervisor.run()), daemon=True)
    thread.start()
    return thread, status


def test_every_copy_runs_a_dead_one_comes_back_and_a_stop_reaches_each_shutdown(tmp_path: Path) -> None:
    log = tmp_path / "log"
    supervisor = WorkerSupervisor([sys.executable, "-c", CHILD, str(log)], 3, restart_pause=0.1)
    thread, status = running(supervisor)
    until(lambda: len(lines(log, "started")) == 3)
    first = lines(log, "started")
    assert len(set(first)) == 3  # three processes side by side

    os.kill(first[1], signal.SIGKILL)  # a worker dies (out of memory, a native crash)
    until(lambda: len(lines(log, "started")) == 4)
    assert supervisor.restarts == 1
    alive = [pid for pid in lines(log, "started") if pid != first[1]]

    supervisor.stop()
    thread.join(15)
    assert status == [0]
    assert sorted(lines(log, "stopped")) == sorted(alive)  # each live copy ran its own orderly shutdown


def test_a_copy_that_keeps_failing_stops_the_command_with_an_error(tmp_path: Path) -> None:
    supervisor = WorkerSupervisor([sys.executable, "-c", "raise SystemExit(3)"], 2, restart_pause=0.05,
                                  give_up_after=3)
    started = time.monotonic()
    thread, status = running(supervisor)
    thread.join(15)
    assert status == [1]
    # It backed off between tries (0.05 s, then 0.1 s) rather than restarting in a tight loop.
    assert time.monotonic() - started >= 0.15
    assert supervisor.restarts >= 2


def test_a_copy_that_ignores_the_stop_is_killed_after_the_grace(tmp_path: Path) -> None:
    log = tmp_path / "log"
    stubborn = CHILD.replace("signal.signal(signal.SIGTERM, stop)", "signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    supervisor = WorkerSupervisor([sys.executable, "-c", stubborn, str(log)], 1, stop_grace=0.5)
    thread, status = running(supervisor)
    until(lambda: len(lines(log, "started")) == 1)
    supervisor.stop()
    thread.join(10)
    assert status == [0] and not thread.is_alive()
    with pytest.raises(ProcessLookupError):
        os.kill(lines(log, "started")[0], 0)  # gone, not left behind
