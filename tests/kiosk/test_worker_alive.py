"""The worker image's health check: healthy only while a worker of this host has a fresh heartbeat."""
import socket
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from avatar_runtime.worker.registry import WorkerInfo, worker_announce, worker_remove

pytestmark = pytest.mark.services  # the registry lives in the shared cache: Redis in CI's services suite


def test_healthy_while_a_worker_of_this_host_is_fresh_and_not_after() -> None:
    worker_id = f"{socket.gethostname()}-alive01"
    worker_announce(WorkerInfo(worker_id, "channel", 4, 1, time.time()))
    try:
        call_command("worker_alive")
        worker_announce(WorkerInfo(worker_id, "channel", 4, 1, time.time() - 60))  # it stopped beating
        with pytest.raises(CommandError):
            call_command("worker_alive")
    finally:
        worker_remove(worker_id)
