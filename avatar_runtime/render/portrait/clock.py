"""Clocks that pace rendered frames: the event loop's for real time, a virtual one for offline work.

The virtual clock jumps to each deadline at once, so offline rendering (clips, QA, tests) runs
as fast as the CPU allows and gives exactly the frames real time would.
"""
import asyncio
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, deadline: float) -> None: ...


class LoopClock:
    """Real time, from the running event loop's monotonic clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.now()
        # yield even when late, so a renderer that falls behind never starves the loop
        await asyncio.sleep(max(delay, 0.0))


class VirtualClock:
    """Time that only moves when someone waits: ``sleep_until`` jumps straight to the deadline."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep_until(self, deadline: float) -> None:
        self._now = max(self._now, deadline)
        await asyncio.sleep(0)
