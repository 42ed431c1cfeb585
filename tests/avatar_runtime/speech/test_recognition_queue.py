"""The worker's recognition queue: one at a time, a finished turn before guesses, dropped guesses never run."""
import asyncio

import pytest

from avatar_runtime.asr.recognition_queue import RecognitionQueue, Ticket, Urgency, recognition_queue


class Work:
    """Recognitions that finish when the test says so, recording the order they started in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    def __call__(self, name: str):  # type: ignore[no-untyped-def]
        self.release[name] = asyncio.Event()

        async def recognise() -> str:
            self.started.append(name)
            await self.release[name].wait()
            return name
        return recognise


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_finished_turn_goes_before_guesses_that_queued_earlier() -> None:
    queue, work = RecognitionQueue(), Work()
    running = asyncio.create_task(queue.run(Ticket(Urgency.GUESS), work("guess-a")))
    await settle()
    guess_b = asyncio.create_task(queue.run(Ticket(Urgency.GUESS), work("guess-b")))
    guess_c = asyncio.create_task(queue.run(Ticket(Urgency.GUESS), work("guess-c")))
    turn = asyncio.create_task(queue.run(Ticket(), work("turn")))
    await settle()
    assert work.started == ["guess-a"] and queue.waiting == 3  # one at a time
    work.release["guess-a"].set()
    await settle()
    assert work.started == ["guess-a", "turn"]
    for name in ("turn", "guess-b", "guess-c"):
        work.release[name].set()
        await settle()
    assert work.started == ["guess-a", "turn", "guess-b", "guess-c"]  # guesses keep their order
    assert [t.result() for t in (running, turn, guess_b, guess_c)] == ["guess-a", "turn", "guess-b", "guess-c"]
    assert queue.running == 0 and queue.waiting == 0


async def test_a_guess_dropped_while_waiting_never_runs() -> None:
    queue, work = RecognitionQueue(), Work()
    first = asyncio.create_task(queue.run(Ticket(), work("first")))
    await settle()
    dropped = asyncio.create_task(queue.run(Ticket(Urgency.GUESS), work("dropped")))
    later = asyncio.create_task(queue.run(Ticket(Urgency.GUESS), work("later")))
    await settle()
    dropped.cancel()
    await settle()
    work.release["first"].set()
    await settle()
    work.release["later"].set()
    await asyncio.gather(first, later)
    assert work.started == ["first", "later"] and dropped.cancelled()
    assert queue.running == 0 and queue.waiting == 0


async def test_work_cancelled_while_running_keeps_its_slot_until_it_finishes() -> None:
    """A recognition thread can't be stopped: the next one must not start beside it."""
    queue, work = RecognitionQueue(), Work()
    abandoned = asyncio.create_task(queue.run(Ticket(Urgency.GUESS), work("abandoned")))
    await settle()
    nxt = asyncio.create_task(queue.run(Ticket(), work("next")))
    await settle()
    abandoned.cancel()
    await settle()
    assert abandoned.cancelled() and work.started == ["abandoned"] and queue.running == 1
    work.release["abandoned"].set()
    await settle()
    assert work.started == ["abandoned", "next"]
    work.release["next"].set()
    assert await nxt == "next"


async def test_a_guess_hurried_when_it_becomes_the_turn_goes_first() -> None:
    queue, work = RecognitionQueue(), Work()
    first = asyncio.create_task(queue.run(Ticket(), work("first")))
    await settle()
    other = asyncio.create_task(queue.run(Ticket(Urgency.GUESS), work("other session's guess")))
    ticket = Ticket(Urgency.GUESS)
    own = asyncio.create_task(queue.run(ticket, work("own guess")))
    await settle()
    ticket.hurry()  # the customer stopped speaking: the guess is the turn's recognition now
    work.release["first"].set()
    await settle()
    assert work.started == ["first", "own guess"]
    work.release["own guess"].set()
    work.release["other session's guess"].set()
    await asyncio.gather(first, other, own)


async def test_errors_reach_the_caller_and_free_the_slot() -> None:
    queue = RecognitionQueue()

    async def broken() -> str:
        raise RuntimeError("model file unreadable")

    with pytest.raises(RuntimeError, match="unreadable"):
        await queue.run(Ticket(), broken)
    assert queue.running == 0

    async def fine() -> str:
        return "ok"
    assert await queue.run(Ticket(), fine) == "ok"


async def test_every_session_of_a_loop_shares_one_queue() -> None:
    assert recognition_queue() is recognition_queue()
