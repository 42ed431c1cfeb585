"""The kiosk WebSocket: only paired kiosks get in; bad messages get an error, not a crash."""
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from kiosk.models import Kiosk, Venue
from kiosk.pairing import TOKEN_COOKIE, kiosk_pair, kiosk_pairing_code_create, kiosk_token_revoke

pytestmark = [pytest.mark.django_db(transaction=True)]
HOST = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


@database_sync_to_async
def paired_kiosk() -> tuple[Kiosk, str]:
    venue = Venue.objects.create(name="Test venue")
    kiosk = Kiosk.objects.create(name="K1", venue=venue)
    code = kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(minutes=5))
    return kiosk_pair(code=code)


def communicator(token: str | None, origin: bytes = b"http://127.0.0.1:8000") -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if token:
        headers.append((b"cookie", f"{TOKEN_COOKIE}={token}".encode()))
    return WebsocketCommunicator(application, "/ws/kiosk/", headers=headers)


@pytest.fixture(autouse=True)
def no_embedded_worker(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AVATAR_EMBEDDED_WORKER = False


async def receive_until(comm: WebsocketCommunicator, kind: str, limit: int = 10) -> dict[str, object]:
    for _ in range(limit):
        message = json.loads(await comm.receive_from(timeout=3))
        if message.get("type") == kind:
            return dict(message)
    raise AssertionError(f"no {kind} message")


async def unpaired_close(comm: WebsocketCommunicator) -> int | None:
    """Accepted, told why, and closed with a code: a refused handshake would reach the page as 1006,
    which it cannot tell from a network failure (it would show "reconnecting" for ever)."""
    connected, _ = await comm.connect()
    assert connected
    error = json.loads(await comm.receive_from())
    assert error["type"] == "error" and error["code"] == "device_unpaired"
    closed = await comm.receive_output()
    assert closed["type"] == "websocket.close"
    return closed.get("code")


async def test_unpaired_browser_is_refused() -> None:
    assert await unpaired_close(communicator(None)) == 4401
    assert await unpaired_close(communicator("not-a-real-token")) == 4401


async def test_wrong_origin_is_refused() -> None:
    _kiosk, token = await paired_kiosk()
    comm = communicator(token, origin=b"http://evil.example")
    connected, _code = await comm.connect()
    assert not connected


async def test_revoked_token_is_refused() -> None:
    kiosk, token = await paired_kiosk()
    await database_sync_to_async(kiosk_token_revoke)(kiosk=kiosk)
    assert await unpaired_close(communicator(token)) == 4401


async def test_paired_kiosk_connects_and_is_told_when_no_worker_is_available() -> None:
    _kiosk, token = await paired_kiosk()
    comm = communicator(token)
    connected, _ = await comm.connect()
    assert connected
    error = await receive_until(comm, "error")
    assert error["code"] == "no_worker"
    await comm.disconnect()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("this is not json", "bad_json"),
        ("[1, 2, 3]", "bad_message"),
        (json.dumps({"type": 5}), "bad_message"),
        (json.dumps({"type": "launch_missiles"}), "unknown_type"),
        (json.dumps({"type": "text", "text": ""}), "bad_text"),
        (json.dumps({"type": "text", "text": "x" * 501}), "bad_text"),
        (json.dumps({"type": "text", "text": ["list"]}), "bad_text"),
        # Valid JSON, but no text: a lone surrogate cannot be encoded to echo it back or to store it,
        # PostgreSQL refuses NUL, and control characters are never what a customer typed.
        (json.dumps({"type": "text", "text": "hello\ud800"}), "bad_text"),
        (json.dumps({"type": "text", "text": "\udfff where is the toilet?"}), "bad_text"),
        (json.dumps({"type": "text", "text": "where is\u0000 the toilet?"}), "bad_text"),
        (json.dumps({"type": "text", "text": "where is the toilet?\u001b[2J"}), "bad_text"),
        (json.dumps({"type": "text", "text": "toilet\u0085"}), "bad_text"),
        (json.dumps({"type": "language", "language": "fr"}), "bad_language"),
        (json.dumps({"type": "rtc_offer", "sdp": 42}), "bad_sdp"),
        ("x" * (70 * 1024), "message_too_large"),
    ],
)
async def test_malformed_messages_get_an_error_and_the_socket_stays_open(payload: str, code: str) -> None:
    _kiosk, token = await paired_kiosk()
    comm = communicator(token)
    await comm.connect()
    await receive_until(comm, "error")  # no worker yet
    await comm.send_to(text_data=payload)
    error = await receive_until(comm, "error")
    assert error["code"] == code
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    assert (await receive_until(comm, "pong"))["type"] == "pong"
    await comm.disconnect()


@pytest.mark.parametrize("size", [3, 40000])
async def test_malformed_audio_gets_an_error(size: int) -> None:
    _kiosk, token = await paired_kiosk()
    comm = communicator(token)
    await comm.connect()
    await receive_until(comm, "error")
    await comm.send_to(bytes_data=b"\x00" * size)
    assert (await receive_until(comm, "error"))["code"] == "bad_audio"
    await comm.disconnect()


async def test_media_skips_the_per_message_database_cleanup_and_other_messages_keep_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels closes stale database connections before every handler, on the database thread: for
    the kiosk's media (25 frames a second down, 10 audio messages up) that hop is skipped."""
    import channels.consumer
    from channels.layers import get_channel_layer

    from kiosk.pairing import kiosk_group

    cleanups: list[int] = []
    original = channels.consumer.aclose_old_connections

    async def counted() -> None:
        cleanups.append(1)
        await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    kiosk, token = await paired_kiosk()
    comm = communicator(token)
    await comm.connect()
    await receive_until(comm, "error")  # no worker yet
    before = len(cleanups)
    for _ in range(5):
        await comm.send_to(bytes_data=b"\x00" * 3200)  # 100 ms of microphone audio
    layer = get_channel_layer()
    for index in range(5):
        await layer.group_send(kiosk_group(kiosk.pk), {"type": "kiosk.media", "session_id": "", "pts": index / 25,
                                                       "video": b"", "audio": b"\x00" * 1280})
    await asyncio.sleep(0.3)
    assert len(cleanups) == before
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    await receive_until(comm, "pong")
    assert len(cleanups) == before + 1
    await comm.disconnect()


async def test_a_kiosk_that_pings_stays_connected_and_a_silent_one_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk import consumers

    monkeypatch.setattr(consumers, "KIOSK_SILENT_AFTER", 1.5)
    _kiosk, token = await paired_kiosk()
    comm = communicator(token)
    assert (await comm.connect())[0]
    await receive_until(comm, "error")  # no worker
    for _ in range(8):  # 2.4 s of pings, longer than the silence limit: the socket stays open
        await comm.send_to(text_data=json.dumps({"type": "ping"}))
        assert (await receive_until(comm, "pong"))["type"] == "pong"
        await asyncio.sleep(0.3)
    # Then silence: the server closes the socket (the page reconnects when it is alive after all).
    closed = await comm.receive_output(timeout=5)
    while closed["type"] != "websocket.close":
        closed = await comm.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"


@database_sync_to_async
def seen(kiosk: Kiosk) -> tuple[object, str]:
    kiosk.refresh_from_db()
    return kiosk.last_seen_at, kiosk.state


async def test_a_connected_kiosk_is_seen_periodically_not_only_on_connect(settings) -> None:  # type: ignore[no-untyped-def]
    settings.KIOSK_HEARTBEAT_SECONDS = 0.5
    kiosk, token = await paired_kiosk()
    comm = communicator(token)
    assert (await comm.connect())[0]
    await receive_until(comm, "error")  # no worker: the page stays connected all the same
    on_connect, _state = await seen(kiosk)
    stamps = {on_connect}
    for _ in range(4):
        await comm.send_to(text_data=json.dumps({"type": "ping"}))
        await receive_until(comm, "pong")
        await asyncio.sleep(0.4)
        stamps.add((await seen(kiosk))[0])
    assert on_connect is not None and len(stamps) >= 3  # heartbeats moved last_seen_at while connected
    await comm.disconnect()


@contextlib.asynccontextmanager
async def played_worker(worker_id: str) -> AsyncIterator[tuple[Any, str, Callable[[], Awaitable[None]]]]:
    """The test plays a worker: its channel on the real layer, and its heartbeat into the real registry
    (announced once now; call the third item for another). Left out of the registry afterwards."""
    from channels.layers import get_channel_layer

    from avatar_runtime.worker.registry import WorkerInfo, worker_announce, worker_remove

    layer = get_channel_layer()
    channel = await layer.new_channel()

    async def heartbeat() -> None:
        await database_sync_to_async(worker_announce)(WorkerInfo(worker_id, channel, 1, 0, time.time()))

    await heartbeat()
    try:
        yield layer, channel, heartbeat
    finally:
        await database_sync_to_async(worker_remove)(worker_id)


async def test_the_avatar_state_reported_by_the_worker_is_recorded_for_the_console() -> None:
    """The test plays the worker's side of the channel protocol: accept the session, report states."""
    kiosk, token = await paired_kiosk()
    comm = communicator(token)
    async with played_worker("w-test") as (layer, worker_channel, _heartbeat):
        try:
            assert (await comm.connect())[0]
            opened = await asyncio.wait_for(layer.receive(worker_channel), 5)
            assert opened["type"] == "session.open"
            reply, session = opened["reply_channel"], opened["session_id"]
            await layer.send(reply, {"type": "kiosk.opened", "session_id": session, "worker_id": "w-test"})
            await receive_until(comm, "session")
            for state in ("listening", "thinking", "speaking"):
                await layer.send(reply, {"type": "kiosk.event", "session_id": session,
                                         "event": {"type": "state", "state": state}})
                assert (await receive_until(comm, "state"))["state"] == state
                assert (await seen(kiosk))[1] == state
            await layer.send(reply, {"type": "kiosk.event", "session_id": "another", "event": {"type": "state", "state": "idle"}})
            await comm.send_to(text_data=json.dumps({"type": "ping"}))
            await receive_until(comm, "pong")
            assert (await seen(kiosk))[1] == "speaking"  # events of another session are not this kiosk's state
        finally:
            await comm.disconnect()


async def test_a_worker_that_was_only_slow_to_open_is_tried_again_once_it_is_heard_of(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The test plays a worker that misses the open's deadline (busy preparing other kiosks) but is alive:
    the kiosk waits as busy, not told nobody is there, and is served by it once its next heartbeat is in
    the registry. Before that heartbeat the kiosk does not ask it again."""
    from kiosk import consumers

    monkeypatch.setattr(consumers, "OPEN_TIMEOUT", 0.5)
    monkeypatch.setattr(consumers, "BUSY_RETRY_EVERY", 0.3)
    _kiosk, token = await paired_kiosk()
    comm = communicator(token)
    async with played_worker("w-slow") as (layer, worker_channel, heartbeat):
        try:
            assert (await comm.connect())[0]
            missed = await asyncio.wait_for(layer.receive(worker_channel), 5)
            assert missed["type"] == "session.open"
            assert (await receive_until(comm, "busy"))["type"] == "busy"  # not "error": the worker is live
            closed = await asyncio.wait_for(layer.receive(worker_channel), 5)  # it must not keep the late session
            assert closed == {"type": "session.close", "session_id": missed["session_id"]}
            with pytest.raises(TimeoutError):  # not heard of since: not asked again
                await asyncio.wait_for(layer.receive(worker_channel), 1.5)

            await heartbeat()  # its next heartbeat
            opened = await asyncio.wait_for(layer.receive(worker_channel), 5)
            assert opened["type"] == "session.open" and opened["session_id"] != missed["session_id"]
            await layer.send(opened["reply_channel"], {"type": "kiosk.opened", "session_id": opened["session_id"],
                                                       "worker_id": "w-slow"})
            assert (await receive_until(comm, "session"))["state"] == "ready"
        finally:
            await comm.disconnect()
