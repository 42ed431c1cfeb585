"""Background tasks with an owner: named, their exceptions logged, cancelled with a timeout.

No fire-and-forget ``create_task`` anywhere in the runtime: every task belongs to a
``TaskOwner`` (one per session), which cancels them all when the session ends. A task that is
being cancelled may start another on its way out (an answer's clip, say): the owner cancels those
too, and once closed it cancels anything spawned before it runs.
"""
import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


async def cancel_and_wait(task: asyncio.Task[Any], timeout: float = 2.0) -> None:
    """Cancel ``task`` and wait (bounded) until it has really finished."""
    if task.done():
        return
    task.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(_swallow(task)), timeout)
    except TimeoutError:
        log.error("task %s did not stop within %.1fs after cancel", task.get_name(), timeout)


async def _swallow(task: asyncio.Task[Any]) -> None:
    try:
        await task
    except asyncio.CancelledError:
        return
    except Exception:  # noqa: BLE001 - already logged by the owner's done-callback
        return


class TaskOwner:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        if self._closed:
            task.cancel()  # before it ever runs: its owner has ended
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def cancel_all(self, timeout: float = 2.0) -> None:
        self._closed = True
        for _ in range(3):  # tasks spawned by the ones being cancelled, then theirs
            if not self._tasks:
                return
            await asyncio.gather(*(cancel_and_wait(t, timeout) for t in list(self._tasks)))

    @property
    def running(self) -> int:
        return len(self._tasks)
