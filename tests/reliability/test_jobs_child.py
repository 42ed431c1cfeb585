"""The brokerless jobs child process (common.jobs): a child that dies is replaced, and the job it
was running when it died comes back with the error that says so."""
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from common import jobs
from common.priority import BACKGROUND_NICE, INFERENCE_NICE


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
    finally:
        if jobs._pool is not None:
            jobs._forget(jobs._pool)
