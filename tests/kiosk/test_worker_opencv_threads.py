"""A worker runs OpenCV on the calling threads (``avatar_runtime.opencv_threads``): its sessions are the
parallelism, and OpenCV's own pool spun on the cores the other sessions' recognition needed."""
import asyncio
from collections.abc import Iterator

import cv2
import pytest
from channels.layers import get_channel_layer

from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.worker.server import AvatarWorker

from .test_capacity import IdleSession

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def opencv_pool() -> Iterator[None]:
    """OpenCV with a pool of two threads (as a process starts on two cores), put back as it was after the test."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    yield
    cv2.setNumThreads(before)


async def test_a_worker_turns_opencvs_thread_pool_off_before_it_takes_sessions(opencv_pool: None) -> None:
    async def factory(session_id: str, kiosk_id: int | None) -> ConversationSession:
        return IdleSession(session_id, kiosk_id)  # type: ignore[return-value]

    worker = AvatarWorker(capacity=1, session_factory=factory, layer=get_channel_layer(), worker_id="w-opencv")
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        assert cv2.getNumThreads() == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
