"""Threads for model inference that give way to the avatar's real-time media (``common.priority``).

Speech synthesis, recognition and retrieval run here, and the models are loaded here too, so
that their native thread pools (ONNX Runtime's, CTranslate2's OpenMP team), and any subprocess
started from these threads, inherit the lower priority. espeak-ng's process is started from the
event loop and keeps the normal priority. On an idle core inference runs at full speed; when the
cores are contended, an answer's synthesis burst no longer delays the frames and packets that
must leave on time.
"""
import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from avatar_runtime.capacity.stage_cpu import charged
from common.priority import INFERENCE_NICE, run_this_thread_at

P = ParamSpec("P")
T = TypeVar("T")

# Its threads start on the first call (the pool is cheap until then), each lowering its own priority.
_executor = ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="inference",
                               initializer=run_this_thread_at, initargs=(INFERENCE_NICE,))


async def in_inference_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``asyncio.to_thread``, on an inference thread; its CPU counts to the caller's stage (``cpu_stage``)."""
    call = functools.partial(contextvars.copy_context().run, charged, fn, *args, **kwargs)  # type: ignore[arg-type]
    return await asyncio.get_running_loop().run_in_executor(_executor, call)
