"""PostgreSQL and Redis restarting mid-conversation (private servers, never the shared ones).

PostgreSQL: a session's transcript writer keeps writing turns through the real kiosk services
while the database crashes and comes back; every acknowledged turn is in the database afterwards,
and every turn queued during the outage is written once it is back (none twice).
Redis: a kiosk connected through the Redis channel layer is told the service was interrupted and
the socket closes with a code the page reconnects on; once Redis is back, the kiosk gets in again.
An avatar worker's session lives through the restart: it answers the next question once Redis is
back, and the turns stored before are untouched.
"""
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from tests.reliability.private_stores import private_postgres, private_redis

pytestmark = [pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_no_acknowledged_turn_is_lost_when_postgresql_restarts(tmp_path: Path) -> None:
    turns = 30
    with private_postgres() as pg:
        env = {**os.environ, "DATABASE_URL": pg.url, "KIOSK_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
        env.pop("REDIS_URL", None)
        driver = subprocess.Popen([sys.executable, "-m", "tests.reliability.transcript_driver", str(turns)], cwd=ROOT,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert driver.stdout is not None and driver.stderr is not None
        acked: list[str] = []
        lines: list[str] = []

        def read() -> None:
            assert driver.stdout is not None
            for line in driver.stdout:
                lines.append(line.strip())
                if line.startswith("ACK "):
                    acked.append(line.split()[1])

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while len(acked) < 5 and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)
        assert len(acked) >= 5, lines
        acked_before_crash = list(acked)
        pg.crash()  # mid-conversation: the writer is between turns
        time.sleep(2.0)
        pg.start()
        driver.wait(timeout=120)
        reader.join(10)
        stderr = driver.stderr.read()
        assert driver.returncode == 0, stderr[-3000:]
        assert lines[-1] == "DONE 0 True", lines[-5:]
        assert "retrying" in stderr, "the crash did not hit a write: the test proved nothing"
        with psycopg.connect(pg.url) as conn:
            rows = conn.execute("SELECT public_id::text, text, index FROM kiosk_turn ORDER BY index").fetchall()
    stored = [r[0] for r in rows]
    assert set(acked_before_crash) <= set(stored)  # acknowledged before the crash: still there
    assert sorted(stored) == sorted(acked) and len(stored) == turns  # everything, once
    assert [r[1] for r in rows] == [f"turn {i}" for i in range(turns)]  # in order
    assert [r[2] for r in rows] == list(range(turns))


@pytest.fixture
def redis_layer(settings):  # type: ignore[no-untyped-def]
    with private_redis() as server:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
            "hosts": [{"address": server.url, "socket_timeout": 15, "socket_connect_timeout": 2}]}}}
        settings.AVATAR_EMBEDDED_WORKER = False
        channel_layers.backends.clear()
        yield server
        channel_layers.backends.clear()


async def _paired_token() -> str:
    from channels.db import database_sync_to_async

    from kiosk.models import Kiosk, Venue
    from kiosk.pairing import kiosk_pair, kiosk_pairing_code_create

    @database_sync_to_async
    def pair() -> str:
        kiosk = Kiosk.objects.create(name="Restart", venue=Venue.objects.create(name="V"))
        return kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(minutes=5)))[1]

    return await pair()


def _communicator(token: str) -> WebsocketCommunicator:
    from config.asgi import application
    from kiosk.pairing import TOKEN_COOKIE

    return WebsocketCommunicator(application, "/ws/kiosk/", headers=[
        (b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"{TOKEN_COOKIE}={token}".encode())])


async def _settled_ping(comm: WebsocketCommunicator) -> None:
    """Wait until the consumer has looked for a worker (none here), then check it answers."""
    for expected, send in (("error", False), ("pong", True)):
        if send:
            await comm.send_to(text_data=json.dumps({"type": "ping"}))
        for _ in range(10):
            if json.loads(await comm.receive_from(timeout=60)).get("type") == expected:
                break
        else:
            raise AssertionError(f"no {expected}")


@pytest.mark.django_db(transaction=True)
async def test_a_redis_restart_ends_the_connection_cleanly_and_the_kiosk_gets_back_in(redis_layer) -> None:  # type: ignore[no-untyped-def]
    token = await _paired_token()
    comm = _communicator(token)
    assert (await comm.connect(timeout=30))[0]
    await _settled_ping(comm)
    redis_layer.stop()  # Redis dies under a connected kiosk
    told, close_code = False, None
    for _ in range(10):
        output = await comm.receive_output(timeout=60)
        if output["type"] == "websocket.send" and "service_interrupted" in output.get("text", ""):
            told = True
        if output["type"] == "websocket.close":
            close_code = output.get("code")
            break
    assert told, "the kiosk was not told"
    assert close_code == 4503  # not 4401: the page reconnects instead of asking to be paired again
    redis_layer.start()
    channel_layers.backends.clear()  # a fresh process-wide pool, as after daphne notices the reconnect
    again = _communicator(token)
    assert (await again.connect(timeout=30))[0]
    await _settled_ping(again)
    await again.disconnect()


async def _avatar_caption(layer: Any, reply: str, timeout: float) -> str:
    """The conversation id, once the avatar's first caption of a turn reaches the web side."""
    deadline, conversation = time.monotonic() + timeout, ""
    while True:
        message = await asyncio.wait_for(layer.receive(reply), max(0.1, deadline - time.monotonic()))
        event = message.get("event", {}) if message["type"] == "kiosk.event" else {}
        conversation = event.get("id", conversation) if event.get("type") == "conversation" else conversation
        if event.get("type") == "caption" and event.get("role") == "avatar":
            return conversation


async def _send_after_restart(layer: Any, channel: str, message: dict[str, Any]) -> None:
    """The web side's pooled connection died with Redis: its first command fails, a new connection is made."""
    import redis

    try:
        await layer.send(channel, message)
    except redis.ConnectionError:
        await layer.send(channel, message)


async def _keep_alive(layer: Any, channel: str, session_id: str) -> None:
    """What the web side sends while the kiosk's connection lives: the worker closes a silent session."""
    from avatar_runtime.worker.protocol import SESSION_KEEPALIVE_EVERY

    while True:
        with contextlib.suppress(Exception):  # Redis is down for a while in this test
            await layer.send(channel, {"type": "session.keepalive", "session_id": session_id})
        await asyncio.sleep(SESSION_KEEPALIVE_EVERY)


async def _turns(conversation_id: str) -> list[tuple[str, str]]:
    from channels.db import database_sync_to_async

    from conversations.models import Turn

    return await database_sync_to_async(lambda: [(t.role, t.text) for t in Turn.objects.filter(
        conversation__public_id=conversation_id).order_by("index")])()


async def _until_turns(conversation_id: str, count: int) -> list[tuple[str, str]]:
    deadline = time.monotonic() + 60
    while len(turns := await _turns(conversation_id)) < count:
        assert time.monotonic() < deadline, turns
        await asyncio.sleep(0.2)
    return turns


@pytest.mark.django_db(transaction=True)
async def test_an_avatar_worker_session_outlives_a_redis_restart_and_keeps_its_turns(redis_layer, settings,  # type: ignore[no-untyped-def]
                                                                                     tmp_path: Path) -> None:
    """A real worker (embedded backends) with its own connection to Redis, driven by the web side's protocol:
    Redis dies between two turns of a conversation and comes back; the same session answers the next question."""
    from channels.db import database_sync_to_async
    from channels_redis.core import RedisChannelLayer
    from PIL import Image
    from skimage import data

    from avatar_runtime.render.portrait.prepare import prepare_portrait
    from avatar_runtime.worker.server import AvatarWorker
    from avatars.models import Avatar
    from kiosk.models import Kiosk, Venue
    from kiosk.session_factory import session_factory, warm_up

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "avatars").mkdir()
    Image.fromarray(data.astronaut()).save(tmp_path / "avatars" / "astronaut.png")
    prepare_portrait((tmp_path / "avatars" / "astronaut.png").read_bytes(), cache_dir=tmp_path / "avatar-cache")
    kiosk = await database_sync_to_async(lambda: Kiosk.objects.create(
        name="Restart", venue=Venue.objects.create(name="V"),
        avatar=Avatar.objects.create(name="Astronaut", source="avatars/astronaut.png", status=Avatar.Status.READY)))()
    hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    worker = AvatarWorker(capacity=1, session_factory=session_factory, warm_up=warm_up, worker_id="redis-restart",
                          layer=RedisChannelLayer(hosts=hosts))  # its own connections, as in its own process
    running = asyncio.create_task(worker.run(), name="worker under test")
    keepalive: asyncio.Task[None] | None = None
    web = RedisChannelLayer(hosts=hosts)
    try:
        await asyncio.wait_for(worker.ready.wait(), 300)
        reply = await web.new_channel("kiosk-reply.")
        # "webrtc" with no peer yet: no video frames flood the reply channel while nobody reads it.
        await web.send(worker.channel, {"type": "session.open", "session_id": "s1", "kiosk_id": kiosk.pk,
                                        "reply_channel": reply, "media": "webrtc"})
        assert (await asyncio.wait_for(web.receive(reply), 300))["type"] == "kiosk.opened"
        keepalive = asyncio.create_task(_keep_alive(web, worker.channel, "s1"))
        await web.send(worker.channel, {"type": "session.text", "session_id": "s1", "text": "Where are the restrooms?"})
        conversation = await _avatar_caption(web, reply, 180)
        acknowledged = await _until_turns(conversation, 2)  # stored before Redis goes

        redis_layer.stop()
        await asyncio.sleep(3.0)  # the worker's receive loop and the session's heartbeats fail meanwhile
        assert not running.done(), "the worker died with Redis"
        redis_layer.start()

        await _send_after_restart(web, worker.channel, {"type": "session.text", "session_id": "s1",
                                                        "text": "Is there a pharmacy?"})
        assert await _avatar_caption(web, reply, 180) in (conversation, "")  # the same session answers
        turns = await _until_turns(conversation, 4)
        assert turns[:2] == acknowledged
        assert turns[2] == ("customer", "Is there a pharmacy?") and turns[3][0] == "avatar"
    finally:
        tasks = [task for task in (keepalive, running) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
