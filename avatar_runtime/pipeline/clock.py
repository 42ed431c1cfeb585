"""The session's clock: real time in production, a scripted virtual clock in tests.

With ``VirtualClock`` a test drives time explicitly (``advance``); every ``sleep`` in the
runtime wakes exactly when virtual time reaches it, so timelines are deterministic and run
faster than real time.
"""
import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, deadline: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        # yield even when late, so a stage that falls behind never starves the loop
        await asyncio.sleep(max(0.0, deadline - self.now()))


class VirtualClock:
    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # already due: yield, but do not wait for the next advance
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._seq), future))
        await future

    async def sleep_until(self, deadline: float) -> None:
        await self.sleep(deadline - self._now)

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking sleepers in order and letting each run before the next."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            wake, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, wake)
            if not future.done():
                future.set_result(None)
            await settle()
        self._now = target
        await settle()


async def settle(rounds: int = 20) -> None:
    """Let every ready coroutine run until the loop is quiet (threads are not waited for)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
