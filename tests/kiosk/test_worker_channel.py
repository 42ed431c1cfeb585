"""A worker and the kiosk connections of one process share its channel layer (the embedded layout):
an idle worker waiting for work must not keep the connections' replies from arriving.

With Redis (the services suite) this guards the channels_redis detail that a second channel prefix
in one process gets a Redis list of its own, read under the same receive lock as the first: the
worker held that lock while it waited, and the replies for the connections were never read.
"""
import asyncio

import pytest
from channels.layers import get_channel_layer

from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.worker.server import AvatarWorker

pytestmark = pytest.mark.django_db(transaction=True)


async def _never_called(session_id: str, kiosk_id: int | None) -> ConversationSession:
    raise AssertionError("no session is opened in this test")


async def test_an_idle_worker_does_not_starve_the_replies_of_its_process() -> None:
    layer = get_channel_layer()
    worker = AvatarWorker(capacity=1, session_factory=_never_called, layer=layer, worker_id="w-idle")
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        await asyncio.sleep(0.5)  # the worker is inside receive(), waiting for a message
        reply = await layer.new_channel()
        for n in range(3):
            await layer.send(reply, {"type": "kiosk.event", "n": n})
            assert (await asyncio.wait_for(layer.receive(reply), 3))["n"] == n
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class _SlowStartingSession:
    """Stands in for a ConversationSession whose start takes long (models loading on a busy host)."""

    def __init__(self, session_id: str, kiosk_id: int | None) -> None:
        self.session_id, self.kiosk_id = session_id, kiosk_id
        self.cpu = StageCpu()
        self.events: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.may_start = asyncio.Event()
        self.closed_with: str | None = None

    async def start(self) -> None:
        await self.may_start.wait()

    async def frames(self):  # type: ignore[no-untyped-def]
        while True:
            await asyncio.sleep(3600)
            yield None

    async def close(self, reason: str) -> None:
        self.closed_with = reason


async def test_a_session_reaped_while_it_starts_leaves_no_task_behind() -> None:
    """The reaper does not wait for an open to finish: a session closed mid-start must not start its
    relays afterwards (its heartbeat would run for ever, for a slot the worker has already freed)."""
    sessions: list[_SlowStartingSession] = []

    async def factory(session_id: str, kiosk_id: int | None) -> ConversationSession:
        sessions.append(_SlowStartingSession(session_id, kiosk_id))
        return sessions[-1]  # type: ignore[return-value]

    layer = get_channel_layer()
    worker = AvatarWorker(capacity=1, session_factory=factory, layer=layer, worker_id="w-reap", orphaned_after=0.5)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        reply = await layer.new_channel()
        await layer.send(worker.channel, {"type": "session.open", "session_id": "s", "kiosk_id": None,
                                          "reply_channel": reply, "media": "webrtc"})
        for _ in range(100):
            if sessions and sessions[0].closed_with:
                break
            await asyncio.sleep(0.05)
        assert sessions[0].closed_with == "kiosk_gone" and not worker.runners
        sessions[0].may_start.set()
        await asyncio.sleep(0.2)
        assert [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("runner ")] == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
