"""CPU priority for work that must give way to the avatar's real-time media.

The media path (rendering, the WebRTC sender, the kiosk's browser on an embedded kiosk) needs a
little CPU at exact times; model inference and background jobs need a lot, whenever. At equal
priority a burst of the second delays the first, and the browser's jitter buffer grows to cover
the gaps. Linux sets the nice value per thread; threads, native thread pools and subprocesses
inherit it from the thread that creates them.

A lower priority is for work in its own process: the local LLM server (``INFERENCE_NICE``) and
job processes (``BACKGROUND_NICE``). A thread of the avatar worker's own process shares the
interpreter's lock with the event loop that paces the frames: lowered, it can be preempted while it
holds that lock, and the loop then waits for a thread the kernel has put behind it. Measured with
three kiosks admitted together on two cores: with the worker's inference threads at nice 10, 2.9 % and
7.0 % of frames were late; at the loop's priority 0.0-0.1 % in three runs, and recognition answered sooner
(``bench/results/load_kiosks_s33.md``). So those threads keep the loop's priority
(``avatar_runtime.inference_threads``). The answer recording's thread (``pipeline.recording``) stays
at ``BACKGROUND_NICE``: its encoder works outside the lock, which it holds only between frames.

Job processes (Celery's, and the brokerless jobs child of ``common.jobs``) also run in Linux's idle
scheduling class (SCHED_IDLE): a nice value only weighs a share, and a lip-sync score at nice 15 still
takes a quarter of a core from the LLM server at nice 10 on the same core; an idle-class thread gets a
core only when nothing else wants it. Not threads of a real-time process, for the reason above.
"""
import logging
import os
import threading

log = logging.getLogger(__name__)

INFERENCE_NICE = 10  # the local LLM server's process: CFS weight 110 against 1024
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
