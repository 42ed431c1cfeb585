"""Work that must give way to real-time media runs at a lower CPU priority (common.priority)."""
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from common.priority import BACKGROUND_NICE, run_this_thread_at, run_this_thread_in_background

ROOT = Path(__file__).resolve().parents[2]


def _in_new_thread(work: Callable[[], int]) -> int:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def _own_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_only_the_calling_thread_is_lowered() -> None:
    before = _own_nice()

    def lowered() -> int:
        run_this_thread_at(before + 7)
        return _own_nice()

    assert _in_new_thread(lowered) == before + 7
    assert _own_nice() == before  # the thread that asked for it, not the process


def test_a_thread_is_never_raised_and_its_children_inherit_it() -> None:
    def lowered_twice() -> int:
        run_this_thread_at(12)
        run_this_thread_at(3)  # asks for more priority than it has: ignored (and not allowed unprivileged)
        return _in_new_thread(_own_nice)  # a thread created from here

    assert _in_new_thread(lowered_twice) == max(12, _own_nice())


def test_background_work_runs_in_the_idle_class_and_what_it_starts_inherits_it() -> None:
    def in_background() -> int:
        run_this_thread_in_background()
        assert _own_nice() >= BACKGROUND_NICE
        return _in_new_thread(lambda: os.sched_getscheduler(threading.get_native_id()))

    assert _in_new_thread(in_background) == os.SCHED_IDLE
    assert os.sched_getscheduler(threading.get_native_id()) == os.SCHED_OTHER  # not the thread that asked


def test_celerys_job_processes_start_as_background_work() -> None:
    """On a venue's box Celery shares the cores with the avatar worker: each job process it starts
    (``worker_process_init``) gives way to the kiosks' media and inference."""
    probe = ("import os, django; django.setup()\n"
             "from celery.signals import worker_process_init\n"
             "worker_process_init.send(sender=None)\n"
             "print(os.sched_getscheduler(0), os.nice(0))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert int(out[-2]) == os.SCHED_IDLE and int(out[-1]) >= BACKGROUND_NICE
