"""What a worker tells the registry of its sessions' CPU and lifetimes counts each session exactly once,
also while one winds down: its slot is already free (the registry says no session), but its lifetime
and CPU must not vanish from the totals until it has closed (the load bench and the console's capacity
view read them the moment a worker says it is idle)."""
import asyncio
import time

import pytest
from channels.layers import get_channel_layer

from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.worker.registry import workers_live
from avatar_runtime.worker.server import AvatarWorker

from .test_capacity import IdleSession

pytestmark = pytest.mark.django_db(transaction=True)


class _SlowClosingSession(IdleSession):
    """A session (no pipeline) whose close takes as long as the test says: its transcript still flushing."""

    def __init__(self, session_id: str, kiosk_id: int | None) -> None:
        super().__init__(session_id, kiosk_id)
        self.cpu.add("rendering", 1.5)
        self.closing = asyncio.Event()
        self.may_close = asyncio.Event()

    async def close(self, reason: str) -> None:
        self.closing.set()
        await self.may_close.wait()


async def _registry_entry(worker: AvatarWorker, after: float):  # type: ignore[no-untyped-def]
    """The worker's registry entry from a heartbeat later than ``after`` (time.time())."""
    for _ in range(100):
        entry = next((w for w in await asyncio.to_thread(workers_live) if w.worker_id == worker.worker_id), None)
        if entry is not None and entry.seen > after:
            return entry
        await asyncio.sleep(0.1)
    raise AssertionError("no heartbeat from the worker")


async def test_a_closing_session_still_counts_in_the_workers_totals_until_it_has_closed() -> None:
    sessions: list[_SlowClosingSession] = []

    async def factory(session_id: str, kiosk_id: int | None) -> ConversationSession:
        sessions.append(_SlowClosingSession(session_id, kiosk_id))
        return sessions[-1]  # type: ignore[return-value]

    layer = get_channel_layer()
    worker = AvatarWorker(capacity=1, session_factory=factory, layer=layer, worker_id="w-stats")
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        reply = await layer.new_channel()
        await layer.send(worker.channel, {"type": "session.open", "session_id": "s", "kiosk_id": None,
                                          "reply_channel": reply, "media": "ws"})
        assert (await asyncio.wait_for(layer.receive(reply), 10))["type"] == "kiosk.opened"
        await asyncio.sleep(0.3)
        await layer.send(worker.channel, {"type": "session.close", "session_id": "s"})
        await asyncio.wait_for(sessions[0].closing.wait(), 10)

        winding_down = await _registry_entry(worker, time.time())
        assert winding_down.load == 0  # the slot is free for the next kiosk
        assert winding_down.stage_cpu["rendering"] == 1.5 and winding_down.session_seconds >= 0.3

        sessions[0].may_close.set()
        for _ in range(50):
            if not worker._closing:
                break
            await asyncio.sleep(0.05)
        closed = await _registry_entry(worker, time.time())
        assert closed.stage_cpu["rendering"] == 1.5  # once, not twice
        assert winding_down.session_seconds <= closed.session_seconds < winding_down.session_seconds + 5
        assert closed.stage_cpu == worker.stats()[0]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
