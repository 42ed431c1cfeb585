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
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from celery import Task
from django.conf import settings

log = logging.getLogger(__name__)

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def enqueue(task: Task, *args: Any) -> None:
    """Run ``task(*args)`` in the background: on the broker, or (brokerless) in the jobs child process."""
    from config.celery import app

    if not (app.conf.task_always_eager and settings.JOBS_IN_CHILD_PROCESS):
        task.delay(*args)
        return
    future = _child_pool().submit(_run_in_child, task.name, args)
    future.add_done_callback(lambda done: _log_outcome(task.name, done))


def _child_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # "spawn": a fork of a process with running threads and an event loop is not safe.
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_setup_child)
        return _pool


def _setup_child() -> None:
    import django

    django.setup()
    from config.celery import app

    app.loader.import_default_modules()  # the apps' tasks modules (autodiscovery is lazy)


def _run_in_child(task_name: str, args: tuple[Any, ...]) -> str:
    """In the child: the job runs as Celery would run it inline (retries included)."""
    from config.celery import app

    result = app.tasks[task_name].apply(args=args)
    return str(result.result)


def _log_outcome(task_name: str, future: "Future[str]") -> None:
    error = future.exception()
    if error is not None:
        log.error("background job %s failed: %s", task_name, error, exc_info=error)
    else:
        log.info("background job %s: %s", task_name, future.result())
