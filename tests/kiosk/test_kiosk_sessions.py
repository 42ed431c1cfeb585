"""A kiosk's session on the avatar worker, with the real consumer, a real worker and the database:
one live session per kiosk, and no session outlives its connection, however the connection ends.
"""
import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from common.roles import Role
from kiosk.models import Kiosk
from tests.conftest import TEST_PASSWORD
from tests.kiosk.live_worker import astronaut_media, kiosk_with_avatar, running_worker, until
from tests.kiosk.test_consumer import communicator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.timeout(600)]
SESSION_TIMEOUT = 90.0  # a session's first placement on a busy 2-core machine


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return astronaut_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def worker_in_this_loop(settings: Any, media: Path) -> None:
    settings.AVATAR_EMBEDDED_WORKER = False  # the test's own worker, found through the registry
    settings.MEDIA_ROOT = media


pair = database_sync_to_async(kiosk_with_avatar)


async def next_output(comm: WebsocketCommunicator, kinds: set[str], timeout: float,
                      seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The next message whose type is in ``kinds``; ``{"type": "close", "code": ...}`` stands for the socket closing."""
    deadline = time.monotonic() + timeout
    while True:
        output = await comm.receive_output(timeout=max(0.1, deadline - time.monotonic()))
        message = {"type": "close", "code": output.get("code")} if output["type"] == "websocket.close" else (
            json.loads(output["text"]) if output.get("text") else {"type": "binary"})
        if seen is not None:
            seen.append(message)
        if message["type"] in kinds:
            return dict(message)
        if message["type"] == "close":
            raise AssertionError(f"closed ({message['code']}) before any of {kinds}; saw {seen}")


async def test_a_new_connection_replaces_the_kiosks_old_one_and_other_kiosks_still_get_a_session() -> None:
    (kiosk, token), (_other, other_token) = await pair("A"), await pair("B")
    async with running_worker(capacity=2) as worker:
        screens = [communicator(token) for _ in range(5)]
        for screen in screens:  # one after the other, as fast as a page reloading in a loop
            assert (await screen.connect(timeout=30))[0]
        for screen in screens[:-1]:
            seen: list[dict[str, Any]] = []
            closed = await next_output(screen, {"close"}, SESSION_TIMEOUT, seen)
            assert closed["code"] == 4409, seen  # the page stays off: reconnecting would take the kiosk back
            assert "replaced" in [m.get("code") for m in seen if m["type"] == "error"]
        newest = screens[-1]
        assert (await next_output(newest, {"session"}, SESSION_TIMEOUT))["state"] == "ready"
        await until(lambda: len(worker.runners) == 1, 30, "one session for the kiosk")
        assert [r.session.kiosk_id for r in worker.runners.values()] == [kiosk.pk]

        other = communicator(other_token)
        assert (await other.connect(timeout=30))[0]
        placed = await next_output(other, {"session", "error"}, SESSION_TIMEOUT)
        assert placed["type"] == "session", placed  # not "no_worker": the kiosk A held one slot, not two
        await newest.send_to(text_data=json.dumps({"type": "ping"}))
        assert (await next_output(newest, {"pong"}, 10))["type"] == "pong"  # the newest screen still talks
        await newest.disconnect()
        await other.disconnect()
        await until(lambda: not worker.runners, 30, "the sessions closed with their connections")


async def test_a_connection_that_dies_without_a_clean_close_still_closes_its_worker_session() -> None:
    """Daphne cancels a connection's handler that does not finish after the socket went (and an exception
    ends it the same way): no ``disconnect()`` runs, and yet the worker must not keep the session."""
    _kiosk, token = await pair("K")
    async with running_worker(capacity=1, orphaned_after=600.0) as worker:  # not the reaper: the consumer
        screen = communicator(token)
        assert (await screen.connect(timeout=30))[0]
        await next_output(screen, {"session"}, SESSION_TIMEOUT)
        assert len(worker.runners) == 1
        screen.future.cancel()
        await until(lambda: not worker.runners, 15, "the worker session closed")


async def test_the_worker_closes_a_session_whose_connection_went_silent() -> None:
    """The web process holding the connection died (or the close was lost): nothing more comes for the
    session, and the worker closes it after a bounded time, while a session that is kept alive stays."""
    (silent, _), (alive, _) = await pair("Silent"), await pair("Alive")
    async with running_worker(capacity=2, orphaned_after=3.0) as worker:
        layer = get_channel_layer()
        reply = await layer.new_channel()
        for session_id, kiosk in (("silent", silent), ("alive", alive)):
            # "webrtc" with no peer: no video frames flood the reply channel, which nobody reads here.
            await layer.send(worker.channel, {"type": "session.open", "session_id": session_id, "kiosk_id": kiosk.pk,
                                              "reply_channel": reply, "media": "webrtc"})
        opened: set[str] = set()
        while len(opened) < 2:
            message = await asyncio.wait_for(layer.receive(reply), SESSION_TIMEOUT)
            if message["type"] == "kiosk.opened":
                opened.add(message["session_id"])
        for _ in range(8):
            await layer.send(worker.channel, {"type": "session.keepalive", "session_id": "alive"})
            await asyncio.sleep(1.0)
        assert list(worker.runners) == ["alive"]


@database_sync_to_async
def disable_in_console(make_user: Callable[..., AbstractBaseUser], kiosk: Kiosk) -> int:
    admin = make_user("admin", Role.ADMIN)
    client = Client()
    assert client.login(username=admin.get_username(), password=TEST_PASSWORD)
    form = {"name": kiosk.name, "venue_name": kiosk.venue.name, "languages": kiosk.languages,
            "default_language": kiosk.default_language, "avatar": kiosk.avatar_id or ""}  # "enabled" unticked
    return client.post(f"/console/kiosks/{kiosk.pk}/", form).status_code


async def test_disabling_a_kiosk_in_the_console_disconnects_its_screen_and_frees_its_slot(
        make_user: Callable[..., AbstractBaseUser], settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a console login, quickly
    kiosk, token = await pair("Lobby")
    async with running_worker(capacity=1) as worker:
        screen = communicator(token)
        assert (await screen.connect(timeout=30))[0]
        await next_output(screen, {"session"}, SESSION_TIMEOUT)
        assert await disable_in_console(make_user, kiosk) == 302
        seen: list[dict[str, Any]] = []
        assert (await next_output(screen, {"close"}, 30, seen))["code"] == 4401  # the page shows the pairing screen
        assert "device_unpaired" in [m.get("code") for m in seen if m["type"] == "error"]
        await until(lambda: not worker.runners, 15, "the disabled kiosk's session closed")
        again = communicator(token)
        assert (await again.connect())[0]  # accepted, then closed with a code the page understands
        assert (await next_output(again, {"close"}, 10))["code"] == 4401
