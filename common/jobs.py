"""Background jobs without a broker: CPU-heavy Celery jobs in a child process, not in the real-time one.

Without a broker (the embedded default) Celery runs a job inline, in the process that asked for it.
On a laptop that process also serves the kiosk and runs its avatar worker: a lip-sync score per
answer (2-4 s of decoding and image work) competed with the event loop for the GIL, the avatar's
frames and heartbeats stalled for up to 1.5 s, and the kiosk's watchdog took its worker for dead.
``enqueue`` hands such a job to one child process instead (its own interpreter; its results go to
the shared database); with a broker, or with ``JOBS_IN_CHILD_PROCESS`` off, it is a plain ``delay``.
"""
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from celery import Task
from django.conf import settings

from common.priority import run_this_thread_in_background

log = logging.getLogger(__name__)

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def enqueue(task: Task, *args: Any) -> None:
    """Run ``task(*args)`` in the background: on the broker, or (brokerless) in the jobs child process."""
    if not (task.app.conf.task_always_eager and settings.JOBS_IN_CHILD_PROCESS):
        task.delay(*args)
        return
    _submit_job(task.name, args, again=True)


def _submit_job(task_name: str, args: tuple[Any, ...], *, again: bool) -> None:
    future = in_child_process(_run_in_child, task_name, args)
    future.add_done_callback(lambda done: _job_finished(task_name, args, done, again=again))


def in_child_process(function: Callable[..., T], *args: Any) -> "Future[T]":
    """``function(*args)`` in the jobs child process; a child that died (killed, out of memory) is replaced."""
    global _pool
    for _ in range(2):
        with _pool_lock:
            if _pool is None:
                # "spawn": a fork of a process with running threads and an event loop is not safe.
                _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_setup_child)
            pool = _pool
        try:
            return pool.submit(function, *args)
        except BrokenProcessPool:
            _forget(pool)
    raise BrokenProcessPool("the jobs child process could not be started twice in a row")


def _forget(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False)


PARENT_CHECK_EVERY = 2.0  # seconds


def _setup_child() -> None:
    run_this_thread_in_background()  # before anything starts a thread: they all inherit it
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    import django

    django.setup()  # the settings import the project's Celery app (``config.celery``), the current one from then on
    from celery import current_app

    current_app.loader.import_default_modules()  # the apps' tasks modules (autodiscovery is lazy)


def _exit_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL, OOM) leaves its jobs child behind, still synthesising the
    whole answer cache at full CPU beside the server started next: it goes when its parent does."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_EVERY)
    log.warning("jobs child: parent %d is gone; exiting", parent)
    os._exit(1)


def _run_in_child(task_name: str, args: tuple[Any, ...]) -> str:
    """In the child: the job runs as Celery would run it inline (retries included)."""
    from celery import current_app

    result = current_app.tasks[task_name].apply(args=args)
    return str(result.result)


def _job_finished(task_name: str, args: tuple[Any, ...], future: "Future[str]", *, again: bool) -> None:
    error = future.exception()
    if isinstance(error, BrokenProcessPool) and again:
        # The child died under the job (killed, out of memory): the job runs once more in a new one.
        log.error("background job %s%s: the jobs child process died; running it again", task_name, args)
        try:
            _submit_job(task_name, args, again=False)
        except RuntimeError as exc:  # this process is exiting too (its process group was stopped)
            log.warning("background job %s%s not run again: %s", task_name, args, exc)
    elif error is not None:
        log.error("background job %s%s failed: %s", task_name, args, error, exc_info=error)
    else:
        log.info("background job %s: %s", task_name, future.result())
