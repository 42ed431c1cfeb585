"""Inference runs on threads that give way to the avatar's media, and what they start inherits it."""
import asyncio
import contextvars
import os
import subprocess
import sys
import threading

from avatar_runtime.inference_threads import in_inference_thread
from common.priority import INFERENCE_NICE

request = contextvars.ContextVar("request", default="none")


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_inference_runs_below_the_event_loop_with_the_callers_context() -> None:
    async def main() -> tuple[int, str, int]:
        request.set("turn 7")
        nice = await in_inference_thread(_nice_of_this_thread)
        seen = await in_inference_thread(request.get)
        return nice, seen, _nice_of_this_thread()

    nice, seen, loop_nice = asyncio.run(main())
    assert nice == max(INFERENCE_NICE, loop_nice) > loop_nice
    assert seen == "turn 7"


def test_a_subprocess_started_for_inference_inherits_its_priority() -> None:
    """A process started for inference (a model server, a command-line tool) must not outrank the media either."""
    def child_nice() -> int:
        out = subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True, text=True,
                             check=True)
        return int(out.stdout)

    assert asyncio.run(in_inference_thread(child_nice)) >= INFERENCE_NICE
