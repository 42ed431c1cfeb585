"""CPU priority for work that must give way to the avatar's real-time media.

The media path (rendering, the WebRTC sender, the kiosk's browser on an embedded kiosk) needs a
little CPU at exact times; model inference and background jobs need a lot, whenever. At equal
priority a burst of the second delays the first, and the browser's jitter buffer grows to cover
the gaps. Linux sets the nice value per thread; threads, native thread pools and subprocesses
inherit it from the thread that creates them.

Job processes (Celery's, and the brokerless jobs child of ``common.jobs``) also run in Linux's idle
scheduling class (SCHED_IDLE): a nice value only weighs a share, and a lip-sync score at nice 15 still
takes a quarter of a core from recognition at nice 10 on the same core; an idle-class thread gets a
core only when nothing else wants it. Not threads of a real-time process: one holding the
interpreter's lock while it waits for an idle core would stall every thread of that process.
"""
import logging
import os
import threading

log = logging.getLogger(__name__)

INFERENCE_NICE = 10  # speech recognition and synthesis, retrieval, the local LLM: CFS weight 110 against 1024
BACKGROUND_NICE = 15  # jobs (lip-sync scoring, index rebuilds, avatar preparation) give way to inference too


def run_this_thread_at(nice: int) -> None:
    """Make the calling thread at least ``nice`` (never raises its priority; a failure is logged)."""
    if not hasattr(os, "setpriority"):  # not a POSIX system: nothing to do
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(nice, os.getpriority(os.PRIO_PROCESS, tid)))
    except OSError:
        log.warning("could not lower this thread's priority to nice %d", nice, exc_info=True)


def run_this_thread_in_background() -> None:
    """Make the calling thread background work: ``BACKGROUND_NICE``, and SCHED_IDLE where Linux has it
    (threads and processes it starts inherit both; a failure is logged and the nice value stays)."""
    run_this_thread_at(BACKGROUND_NICE)
    if not hasattr(os, "SCHED_IDLE"):
        return
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        log.warning("could not move this thread to the idle scheduling class", exc_info=True)
