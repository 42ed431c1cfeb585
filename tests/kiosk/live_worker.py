"""A real avatar worker for tests of the kiosk connection: the worker class, the real session
factory and the embedded backends (Silero, Whisper, the knowledge base, offline voices, the
portrait renderer), running in the test's event loop or in a server's, beside the real consumer.

The kiosks show the astronaut photo, prepared ahead as the console's preparation job does.
"""
import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from avatar_runtime.worker.server import AvatarWorker
from avatars.models import Avatar
from kiosk.models import Kiosk, Venue
from kiosk.pairing import kiosk_pair, kiosk_pairing_code_create

PHOTO = "avatars/astronaut.png"
READY_TIMEOUT = 300.0  # the first worker of a process loads every model, on a shared 2-core machine


def astronaut_media(media_root: Path) -> Path:
    """``media_root`` with the astronaut photo and its prepared portrait (under ``avatar-cache``)."""
    from PIL import Image
    from skimage import data

    from avatar_runtime.render.portrait.prepare import prepare_portrait

    (media_root / "avatars").mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).save(media_root / PHOTO)
    prepare_portrait((media_root / PHOTO).read_bytes(), cache_dir=media_root / "avatar-cache")
    return media_root


def kiosk_with_avatar(name: str) -> tuple[Kiosk, str]:
    """A paired kiosk showing the astronaut (English and Chinese); returns it and its device token."""
    venue, _ = Venue.objects.get_or_create(name="Test venue")
    avatar, _ = Avatar.objects.get_or_create(name="Astronaut", source=PHOTO, status=Avatar.Status.READY)
    kiosk = Kiosk.objects.create(name=name, venue=venue, avatar=avatar, languages=["en", "zh"], default_language="en")
    return kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(minutes=5)))


@functools.cache
def _warm_up() -> None:
    """Load the process-wide models once, as a worker does before it takes sessions."""
    from kiosk.session_factory import warm_up

    warm_up()


async def start_worker(capacity: int, **options: Any) -> tuple[AvatarWorker, asyncio.Task[None]]:
    """A worker running in this event loop, registered and ready for sessions."""
    from kiosk.session_factory import session_factory

    await asyncio.to_thread(_warm_up)
    worker = AvatarWorker(capacity=capacity, session_factory=session_factory, **options)
    task = asyncio.get_running_loop().create_task(worker.run(), name="avatar worker under test")
    await asyncio.wait_for(worker.ready.wait(), READY_TIMEOUT)
    await worker.announce()  # in the registry now, not at its first heartbeat
    return worker, task


STOP_TIMEOUT = 60.0


async def stop_worker(task: asyncio.Task[None]) -> None:
    task.cancel()  # its shutdown closes the sessions and leaves the registry
    done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT)
    if not done:  # name the stuck awaits, rather than hang until the test run's own timeout
        stacks = "\n".join(f"{t.get_name()}: {t.get_stack(limit=3)}" for t in asyncio.all_tasks() if not t.done())
        raise AssertionError(f"the worker did not stop within {STOP_TIMEOUT:.0f}s; tasks still running:\n{stacks}")


@contextlib.asynccontextmanager
async def running_worker(capacity: int, **options: Any) -> AsyncIterator[AvatarWorker]:
    worker, task = await start_worker(capacity, **options)
    try:
        yield worker
    finally:
        await stop_worker(task)


async def until(condition: Any, timeout: float, what: str) -> None:
    """Wait (polling) until ``condition()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        await asyncio.sleep(0.1)
