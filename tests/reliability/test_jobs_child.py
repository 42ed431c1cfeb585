"""The brokerless jobs child process (common.jobs): a child that dies is replaced, and the job it
was running when it died comes back with the error that says so."""
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from common import jobs
from common.priority import BACKGROUND_NICE, INFERENCE_NICE

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_jobs_child_that_died_is_replaced() -> None:
    try:
        first = jobs.in_child_process(os.getpid).result(timeout=120)
        assert first != os.getpid()
        running = jobs.in_child_process(time.sleep, 60)
        os.kill(first, signal.SIGKILL)  # killed under a job (out of memory, an operator)
        with pytest.raises(BrokenProcessPool):
            running.result(timeout=60)
        second = jobs.in_child_process(os.getpid).result(timeout=120)
        assert second not in (first, os.getpid())
    finally:
        if jobs._pool is not None:
            jobs._forget(jobs._pool)


@pytest.mark.slow
def test_jobs_run_below_inference_and_media() -> None:
    try:
        nice = jobs.in_child_process(os.nice, 0).result(timeout=120)
        assert nice >= BACKGROUND_NICE > INFERENCE_NICE
        assert jobs.in_child_process(os.sched_getscheduler, 0).result(timeout=120) == os.SCHED_IDLE
    finally:
        if jobs._pool is not None:
            jobs._forget(jobs._pool)


PARENT = """
import os, sys, time
import django
django.setup()
from common import jobs
child = jobs.in_child_process(os.getpid).result(timeout=120)
jobs.in_child_process(time.sleep, 120)  # the child is busy when its parent dies
print(child, flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_jobs_child_exits_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)  # no shutdown: the executor never tells its child
        parent.wait(timeout=10)
        deadline = time.monotonic() + 3 * jobs.PARENT_CHECK_EVERY + 5
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.2)
        assert not _alive(child)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has exited: only its entry is left
    except FileNotFoundError:
        return False
