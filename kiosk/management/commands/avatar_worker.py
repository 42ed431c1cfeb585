"""``manage.py avatar_worker``: serve kiosk sessions from this process (a GPU host in production), or
with ``--processes N`` from N worker processes it supervises (a CPU host: see ``worker.supervisor``)."""
import asyncio
import signal
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from avatar_runtime.transport.ice import ice_config_from_settings
from avatar_runtime.worker.server import AvatarWorker
from avatar_runtime.worker.supervisor import WorkerSupervisor


class Command(BaseCommand):
    help = "Run an avatar worker that takes kiosk sessions from the channel layer (needs REDIS_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--capacity", type=int, default=settings.AVATAR_WORKER_CAPACITY,
                            help="Concurrent sessions this worker accepts at most (a hard cap; within it, sessions "
                                 "are admitted while the CPU headroom holds one, see AVATAR_CPU_GOVERNOR).")
        parser.add_argument("--processes", type=int, default=settings.AVATAR_WORKER_PROCESSES,
                            help="Worker processes to run, each with --capacity sessions and restarted when it "
                                 "dies. On a CPU host one process holds about two sessions at full video.")

    def handle(self, *args: Any, **options: Any) -> None:
        if "InMemoryChannelLayer" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            raise CommandError("A separate worker needs a shared channel layer: set REDIS_URL. "
                               "Without it the web process runs an embedded worker itself.")
        if options["processes"] < 1:
            raise CommandError("--processes must be at least 1.")
        if options["processes"] > 1:  # each worker process sets up its own media below
            self._supervise(options["capacity"], options["processes"])
            return
        if settings.AVATAR_RTC_LOOPBACK:
            from avatar_runtime.transport.webrtc import restrict_ice_to_loopback

            restrict_ice_to_loopback()
        asyncio.run(self._serve(options["capacity"]))

    def _supervise(self, capacity: int, processes: int) -> None:
        command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "avatar_worker",
                   "--capacity", str(capacity), "--processes", "1"]
        supervisor = WorkerSupervisor(command, processes)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: supervisor.stop())
        self.stdout.write(f"supervising {processes} avatar worker processes of up to {capacity} sessions each")
        self.stdout.flush()
        if supervisor.run():
            raise CommandError("a worker process kept failing; see its errors above")

    async def _serve(self, capacity: int) -> None:
        from kiosk.session_factory import session_factory, warm_up, worker_governor

        loop = asyncio.get_running_loop()
        worker = AvatarWorker(capacity=capacity, session_factory=session_factory, warm_up=warm_up,
                             ice=ice_config_from_settings(), governor=worker_governor())
        task = loop.create_task(worker.run(), name="avatar-worker")
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        ready = loop.create_task(worker.ready.wait(), name="worker-ready")
        await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        stopping = loop.create_task(stop.wait(), name="stop-signal")
        if not task.done():
            self.stdout.write(f"avatar worker {worker.worker_id} serving up to {capacity} sessions")
            self.stdout.flush()
            await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if task.done():
            # The worker stopped by itself: exit non-zero, so that its supervisor restarts it.
            raise CommandError(f"avatar worker {worker.worker_id} stopped: {task.exception()!r}")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
