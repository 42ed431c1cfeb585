"""Threads for model inference, off the event loop that paces the avatar's media.

Speech synthesis, recognition and retrieval run here, and the models are loaded here, so their
native thread pools (ONNX Runtime's, CTranslate2's) start from these threads. They run at the event
loop's priority, not below it: they share the interpreter's lock with the loop, and a thread the
kernel puts behind the media while it holds that lock stalls the media with it (``common.priority``,
measured in ``bench/results/load_kiosks_s33.md``). Work that may give way entirely runs in its own
process: the local LLM server, the jobs.
"""
import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from avatar_runtime.capacity.stage_cpu import charged

P = ParamSpec("P")
T = TypeVar("T")

# Its threads start on the first call (the pool is cheap until then).
_executor = ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="inference")


async def in_inference_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``asyncio.to_thread``, on an inference thread; its CPU counts to the caller's stage (``cpu_stage``)."""
    call = functools.partial(contextvars.copy_context().run, charged, fn, *args, **kwargs)  # type: ignore[arg-type]
    return await asyncio.get_running_loop().run_in_executor(_executor, call)
