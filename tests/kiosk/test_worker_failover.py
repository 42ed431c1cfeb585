"""Two real avatar worker processes behind the Redis channel layer: capacity, and a worker dying.

The kiosk side is the real consumer (``WebsocketCommunicator``) in this process; the workers are
``manage.py avatar_worker`` subprocesses with their own models, sharing the test database and
Redis. Needs DATABASE_URL and REDIS_URL (the CI services suite sets both).
"""
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection

from avatar_runtime.worker.registry import WorkerInfo, workers_live
from avatars.models import Avatar
from config.asgi import application
from conversations.models import Conversation, Turn
from kiosk.models import Kiosk, Venue
from kiosk.pairing import TOKEN_COOKIE, kiosk_pair, kiosk_pairing_code_create
from tests.conftest import SERVICES

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.services,
    pytest.mark.skipif(not SERVICES, reason="needs DATABASE_URL and REDIS_URL (separate worker processes)"),
    pytest.mark.timeout(900),
]
WORKER_START_TIMEOUT = 600.0  # two workers load their models at once on a shared 2-core machine
PHOTO = "avatars/failover-astronaut.png"
FAQ_KEYS = {"cinema", "mtr-access", "restrooms", "first-aid"}


@dataclass
class WorkerProcess:
    process: subprocess.Popen[str]
    worker_id: str = ""
    lines: list[str] = field(default_factory=list)

    def follow(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if line.startswith("avatar worker ") and not self.worker_id:
                self.worker_id = line.split()[2]


@dataclass
class Workers:
    processes: list[WorkerProcess]
    media_root: Path

    def by_id(self, worker_id: str) -> WorkerProcess:
        return next(w for w in self.processes if w.worker_id == worker_id)


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def workers(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    from django.conf import settings
    from PIL import Image
    from skimage import data

    from avatar_runtime.render.portrait.prepare import prepare_portrait

    var = tmp_path_factory.mktemp("failover-var")
    media = var / "media"
    (media / "avatars").mkdir(parents=True)
    Image.fromarray(data.astronaut()).save(media / PHOTO)
    # Prepared ahead, as the console's preparation job does: workers then load it from the cache.
    prepare_portrait((media / PHOTO).read_bytes(), cache_dir=media / "avatar-cache")
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {**os.environ, "DATABASE_URL": database_url, "KIOSK_VAR_DIR": str(var),
           "MODELS_DIR": str(settings.MODELS_DIR), "DJANGO_SETTINGS_MODULE": "config.settings",
           "PYTHONUNBUFFERED": "1"}
    processes = []
    for _ in range(2):
        process = subprocess.Popen([sys.executable, "manage.py", "avatar_worker", "--capacity", "1"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        worker = WorkerProcess(process)
        threading.Thread(target=worker.follow, daemon=True).start()
        processes.append(worker)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while not all(w.worker_id for w in processes):
            dead = [w for w in processes if w.process.poll() is not None]
            assert not dead, "\n".join(dead[0].lines[-40:])
            assert time.monotonic() < deadline, "avatar workers did not start"
            time.sleep(0.5)
        yield Workers(processes, media)
    finally:
        for worker in processes:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in processes:
            try:
                worker.process.wait(20)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        ARTIFACTS.mkdir(exist_ok=True)
        for n, worker in enumerate(processes):
            (ARTIFACTS / f"failover-worker-{n}.log").write_text("\n".join(worker.lines))


@pytest.fixture(autouse=True)
def separate_workers(settings: Any, workers: Workers) -> None:
    settings.AVATAR_EMBEDDED_WORKER = False
    settings.MEDIA_ROOT = workers.media_root


@pytest.fixture(autouse=True)
def demo_faqs(separate_workers: None, transactional_db: None) -> None:
    """The few demo FAQs these conversations need (each test starts from an empty database)."""
    from kiosk.demo import DEMO_FAQS
    from knowledgebase.services import faq_import_file

    rows = [line for line in DEMO_FAQS.read_text().splitlines()
            if json.loads(line)["key"] in FAQ_KEYS and json.loads(line)["language"] == "en"]
    faq_import_file(content="\n".join(rows).encode(), filename="faqs.jsonl", publish=True)


@database_sync_to_async
def paired_kiosk(name: str) -> tuple[Kiosk, str]:
    venue, _ = Venue.objects.get_or_create(name="Failover venue")
    avatar = Avatar.objects.create(name="Astronaut", source=PHOTO, status=Avatar.Status.READY)
    kiosk = Kiosk.objects.create(name=name, venue=venue, avatar=avatar, languages=["en", "zh"], default_language="en")
    return kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(minutes=5)))


def communicator(token: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/kiosk/", headers=[
        (b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"{TOKEN_COOKIE}={token}".encode()),
    ])


async def next_event(comm: WebsocketCommunicator, kinds: set[str], timeout: float,
                     seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The next JSON message whose type is in ``kinds`` (others are collected in ``seen``)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kinds} within {timeout:.0f}s; saw {[m.get('type') for m in seen or []]}")
        raw = await comm.receive_from(timeout=remaining)
        message = json.loads(raw)
        if seen is not None:
            seen.append(message)
        if message.get("type") in kinds:
            return dict(message)


def record_failover(seconds: float) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nworker killed -> kiosk served by the other worker: {seconds:.2f} s (load {load})")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "kiosk_failover.json").write_text(json.dumps(
        {"worker_killed_to_session_ready_s": round(seconds, 2), "loadavg": load}))


async def loads() -> dict[str, int]:
    live: list[WorkerInfo] = await database_sync_to_async(workers_live)()
    return {w.worker_id: w.load for w in live}


async def test_a_worker_at_capacity_takes_no_more_sessions(workers: Workers) -> None:
    kiosks = [await paired_kiosk(f"K{i}") for i in range(3)]
    first, second, third = (communicator(token) for _kiosk, token in kiosks)
    for comm in (first, second):
        assert (await comm.connect())[0]
        ready = await next_event(comm, {"session", "error"}, timeout=120)
        assert ready["type"] == "session", ready
    ids = {w.worker_id for w in workers.processes}
    assert {k: v for k, v in (await loads()).items() if k in ids} == dict.fromkeys(ids, 1)

    # Both workers are full: the third kiosk is told it waits (busy), and no worker takes a second session.
    assert (await third.connect())[0]
    refused = await next_event(third, {"session", "error", "busy"}, timeout=30)
    assert refused["type"] == "busy", refused

    # Asked directly, a full worker refuses (the registry can lag by a heartbeat).
    layer = get_channel_layer()
    reply = await layer.new_channel()
    live = [w for w in await database_sync_to_async(workers_live)() if w.worker_id in ids]
    await layer.send(live[0].channel, {"type": "session.open", "session_id": "direct-1", "kiosk_id": kiosks[2][0].pk,
                                       "reply_channel": reply, "media": "ws"})
    answer = await asyncio.wait_for(layer.receive(reply), 30)
    assert answer == {"type": "kiosk.refused", "session_id": "direct-1", "reason": "capacity"}

    # A slot frees up: the waiting kiosk is placed on it by itself.
    await first.disconnect()
    placed = await next_event(third, {"session"}, timeout=30)
    assert placed["state"] == "ready" and not placed["resumed"]
    await second.disconnect()
    await third.disconnect()


async def test_a_dying_worker_hands_the_kiosk_to_another_and_the_transcript_survives(workers: Workers) -> None:
    kiosk, token = await paired_kiosk("Failover kiosk")
    comm = communicator(token)
    assert (await comm.connect())[0]
    assert (await next_event(comm, {"session"}, timeout=120))["state"] == "ready"
    await asyncio.sleep(1.0)  # let the serving worker's load reach the registry
    serving = [worker_id for worker_id, load in (await loads()).items() if load == 1]
    assert len(serving) == 1
    victim = workers.by_id(serving[0])

    seen: list[dict[str, Any]] = []
    await comm.send_to(text_data=json.dumps({"type": "text", "text": "Where is the cinema?"}))
    await next_event(comm, {"caption"}, timeout=60, seen=seen)  # the customer's words
    caption = await next_event(comm, {"caption"}, timeout=120, seen=seen)  # the avatar starts speaking
    assert caption["role"] == "avatar" and "cinema" in caption["text"].lower()
    conversation_id = next(m["id"] for m in seen if m["type"] == "conversation")

    victim.process.send_signal(signal.SIGKILL)  # mid-answer
    killed_at = time.monotonic()
    notice = await next_event(comm, {"reconnecting"}, timeout=10)
    assert notice["reason"] == "worker_lost"
    back = await next_event(comm, {"session"}, timeout=10)
    moved_after = time.monotonic() - killed_at
    assert back["state"] == "ready" and back["resumed"] is True
    assert moved_after < 5.0, f"the kiosk was back after {moved_after:.1f}s"
    record_failover(moved_after)

    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=conversation_id)
    turns = await database_sync_to_async(lambda: list(conversation.turns.order_by("index")))()
    assert conversation.status == Conversation.Status.ACTIVE
    assert [t.role for t in turns] == [Turn.Role.CUSTOMER, Turn.Role.AVATAR]
    assert turns[0].text == "Where is the cinema?"
    assert turns[1].interrupted and "cinema" in turns[1].text.lower()

    # The conversation carries on with the other worker, in the same record.
    survivor = next(w for w in workers.processes if w is not victim)
    assert (await loads()).get(survivor.worker_id) == 1
    await comm.send_to(text_data=json.dumps({"type": "text", "text": "How do I get to the MTR station?"}))
    while True:
        caption = await next_event(comm, {"caption"}, timeout=120)
        if caption["role"] == "avatar":
            break
    assert "mtr" in caption["text"].lower() or "kowloon" in caption["text"].lower()
    await comm.disconnect()
    await asyncio.sleep(1.0)  # the worker closes the session and writes the end of the conversation
    turns = await database_sync_to_async(lambda: list(Turn.objects.filter(
        conversation__public_id=conversation_id).order_by("index")))()
    assert [t.role for t in turns] == [Turn.Role.CUSTOMER, Turn.Role.AVATAR, Turn.Role.CUSTOMER, Turn.Role.AVATAR]
    assert turns[2].text == "How do I get to the MTR station?"
    assert kiosk.pk == (await database_sync_to_async(Conversation.objects.get)(public_id=conversation_id)).kiosk_id
