"""Recognitions in one worker process, one at a time, a finished turn before a guess.

CTranslate2 runs the calls of a Whisper model (one replica) one after another, in the order they
arrive. With several kiosks on one worker, a customer who has finished speaking then waits behind
other sessions' guesses: recognition started at a pause in their turns (``pipeline/endpointing.py``),
some of them already dropped because the customer went on speaking, and still run to the end.
Here recognitions wait in Python instead, where the order can be chosen: a finished turn (someone
is waiting for the answer) goes before any guess, and a guess dropped while it waits never runs.
What has started runs to the end (a thread can't be stopped) and holds its place until then.
"""
import asyncio
import enum
import itertools
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class Urgency(enum.IntEnum):
    TURN = 0  # the customer has finished (or is interrupting): an answer waits on this
    GUESS = 1  # a pause in the turn: used only if the customer says nothing more


@dataclass(eq=False)
class Ticket:
    """A recognition's place in the queue; a guess that becomes the turn's recognition is hurried."""

    urgency: Urgency = Urgency.TURN

    def hurry(self) -> None:
        self.urgency = Urgency.TURN


@dataclass(eq=False)
class _Waiter:
    ticket: Ticket
    order: int
    granted: "asyncio.Future[None]"


class RecognitionQueue:
    def __init__(self, slots: int = 1) -> None:
        self.slots = slots
        self.running = 0
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def run(self, ticket: Ticket, work: Callable[[], Awaitable[T]]) -> T:
        """``work()`` once a slot is free and nothing more urgent waits. Cancelled while waiting, it
        never starts; cancelled while running, it still finishes before its slot is given on."""
        await self._wait_for_slot(ticket)
        started = asyncio.ensure_future(work())
        started.add_done_callback(self._release)
        return await asyncio.shield(started)

    async def _wait_for_slot(self, ticket: Ticket) -> None:
        if self.running < self.slots and not self._waiting:
            self.running += 1
            return
        waiter = _Waiter(ticket, next(self._order), asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            elif waiter.granted.done() and not waiter.granted.cancelled():
                self._release()  # granted as it was cancelled: the slot goes to the next one
            raise

    def _release(self, _: object = None) -> None:
        self.running -= 1
        while self.running < self.slots and self._waiting:
            waiter = min(self._waiting, key=lambda w: (w.ticket.urgency, w.order))
            self._waiting.remove(waiter)
            if waiter.granted.cancelled():
                continue
            waiter.granted.set_result(None)
            self.running += 1


_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RecognitionQueue]" = weakref.WeakKeyDictionary()


def recognition_queue() -> RecognitionQueue:
    """The queue of the running event loop: every session a worker process serves shares it."""
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = RecognitionQueue()
    return queue
