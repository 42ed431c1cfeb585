"""``manage.py worker_alive``: exit 0 when an avatar worker of this host has a fresh heartbeat.

The worker image's health check: the worker has no port to probe, but it announces itself in the
shared registry every 2 s under an id that starts with its host name (a container's own).
"""
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from avatar_runtime.worker.registry import workers_live


class Command(BaseCommand):
    help = "Exit 0 when an avatar worker on this host has a fresh heartbeat in the registry, 1 otherwise."

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = f"{socket.gethostname()}-"
        mine = [worker for worker in workers_live() if worker.worker_id.startswith(prefix)]
        if not mine:
            raise CommandError(f"no avatar worker of {prefix[:-1]} has a fresh heartbeat")
        for worker in mine:
            self.stdout.write(f"{worker.worker_id}: {worker.load} of {worker.capacity} sessions")
