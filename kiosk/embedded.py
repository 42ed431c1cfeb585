"""The embedded layout: an avatar worker inside the web process (laptop, CI, demo).

Enabled by ``AVATAR_EMBEDDED_WORKER`` (default: on when no ``REDIS_URL`` is set, since an
in-memory channel layer cannot reach another process). Started on the first kiosk connection.
"""
import asyncio
import logging

from django.conf import settings

from avatar_runtime.transport.ice import ice_config_from_settings
from avatar_runtime.worker.server import AvatarWorker

log = logging.getLogger(__name__)
_worker: AvatarWorker | None = None
_task: asyncio.Task[None] | None = None
_lock = asyncio.Lock()


async def ensure_embedded_worker() -> AvatarWorker | None:
    global _worker, _task
    if not settings.AVATAR_EMBEDDED_WORKER:
        return None
    async with _lock:
        if _task is not None and not _task.done():
            return _worker
        from avatars.answer_audio import answer_audio_enqueue
        from kiosk.session_factory import session_factory, warm_up, worker_governor

        if settings.AVATAR_RTC_LOOPBACK:
            from avatar_runtime.transport.webrtc import restrict_ice_to_loopback

            restrict_ice_to_loopback()

        _worker = AvatarWorker(capacity=settings.AVATAR_WORKER_CAPACITY, session_factory=session_factory,
                               warm_up=warm_up, ice=ice_config_from_settings(), governor=worker_governor())
        _task = asyncio.get_running_loop().create_task(_worker.run(), name="embedded-avatar-worker")
        _task.add_done_callback(_log_exit)
        await _worker.ready.wait()
        await _worker.announce()
        log.info("embedded avatar worker started")
        # The answers' audio (``avatars.answer_audio``), in the background jobs child: setup loads the
        # demo without it, and a refresh keeps what is built and makes only what is missing.
        await asyncio.to_thread(answer_audio_enqueue)
        return _worker


def _log_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("embedded avatar worker stopped", exc_info=task.exception())
