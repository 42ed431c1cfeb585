"""Inference runs on threads beside the event loop, at its priority, with the caller's context."""
import asyncio
import contextvars
import os
import threading

from avatar_runtime.inference_threads import in_inference_thread

request = contextvars.ContextVar("request", default="none")


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_inference_runs_beside_the_event_loop_at_its_priority_with_the_callers_context() -> None:
    """Not below the loop: an inference thread shares the interpreter's lock with it, and one preempted
    while holding it would stall the frames (``common.priority``)."""
    async def main() -> tuple[int, str, int, int, int]:
        request.set("turn 7")
        nice = await in_inference_thread(_nice_of_this_thread)
        seen = await in_inference_thread(request.get)
        thread = await in_inference_thread(threading.get_ident)
        return nice, seen, _nice_of_this_thread(), thread, threading.get_ident()

    nice, seen, loop_nice, thread, loop_thread = asyncio.run(main())
    assert nice == loop_nice
    assert seen == "turn 7"
    assert thread != loop_thread
