"""Kiosk device tokens: rotation and revocation take effect at once, also on a screen already open."""
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from common.errors import ApplicationError
from config.asgi import application
from kiosk.models import Kiosk, Venue
from kiosk.pairing import TOKEN_COOKIE, kiosk_for_token, kiosk_pair, kiosk_pairing_code_create, kiosk_token_revoke
from tests.kiosk.test_consumer import unpaired_close

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_embedded_worker(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AVATAR_EMBEDDED_WORKER = False


@database_sync_to_async
def new_kiosk() -> Kiosk:
    return Kiosk.objects.create(name="Gate kiosk", venue=Venue.objects.create(name="Venue"))


@database_sync_to_async
def pair(kiosk: Kiosk) -> str:
    return kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(minutes=5)))[1]


def communicator(token: str | None, origin: bytes | None = b"http://127.0.0.1:8000") -> WebsocketCommunicator:
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin))
    if token:
        headers.append((b"cookie", f"{TOKEN_COOKIE}={token}".encode()))
    return WebsocketCommunicator(application, "/ws/kiosk/", headers=headers)


async def next_error(comm: WebsocketCommunicator, code: str) -> dict[str, object]:
    for _ in range(10):
        output = await comm.receive_output(timeout=30)
        if output["type"] == "websocket.send" and output.get("text"):
            message = json.loads(output["text"])
            if message.get("type") == "error" and message.get("code") == code:
                return dict(message)
    raise AssertionError(f"no {code} error")


async def expect_close(comm: WebsocketCommunicator, code: int) -> None:
    for _ in range(10):
        output = await comm.receive_output(timeout=30)
        if output["type"] == "websocket.close":
            assert output.get("code") == code
            return
    raise AssertionError("the socket was not closed")


async def test_rotating_the_token_refuses_the_old_one_and_closes_the_screen_holding_it() -> None:
    kiosk = await new_kiosk()
    old = await pair(kiosk)
    comm = communicator(old)
    assert (await comm.connect())[0]
    await next_error(comm, "no_worker")  # settled: the consumer looked for a worker (none in this test)
    new = await pair(kiosk)  # staff pairs a replacement screen
    message = await next_error(comm, "device_unpaired")
    assert "no longer paired" in str(message["message"])
    await expect_close(comm, 4401)
    assert await unpaired_close(communicator(old)) == 4401
    fresh = communicator(new)
    assert (await fresh.connect())[0]
    await fresh.disconnect()


async def test_revoking_closes_an_open_screen_and_leaves_other_kiosks_alone() -> None:
    kiosk, other = await new_kiosk(), await new_kiosk()
    token, other_token = await pair(kiosk), await pair(other)
    comm, bystander = communicator(token), communicator(other_token)
    assert (await comm.connect())[0] and (await bystander.connect())[0]
    await database_sync_to_async(kiosk_token_revoke)(kiosk=kiosk)
    await next_error(comm, "device_unpaired")
    await expect_close(comm, 4401)
    await bystander.send_to(text_data=json.dumps({"type": "ping"}))
    for _ in range(5):
        if json.loads(await bystander.receive_from(timeout=30)).get("type") == "pong":
            break
    else:
        raise AssertionError("the other kiosk lost its connection")
    await bystander.disconnect()


async def test_a_disabled_kiosk_is_refused_even_with_its_token() -> None:
    kiosk = await new_kiosk()
    token = await pair(kiosk)
    await database_sync_to_async(Kiosk.objects.filter(pk=kiosk.pk).update)(enabled=False)
    assert await unpaired_close(communicator(token)) == 4401


@pytest.mark.parametrize("origin", [None, b"null", b"http://127.0.0.1.evil.example", b"https://evil.example"])
async def test_missing_or_foreign_origins_are_refused(origin: bytes | None) -> None:
    token = await pair(await new_kiosk())
    connected, _code = await communicator(token, origin=origin).connect()
    assert not connected


@pytest.mark.parametrize("token", ["", "x" * 5000, "' OR 1=1 --", "\u202e\u0000"])
async def test_garbage_tokens_are_refused(token: str) -> None:
    comm = WebsocketCommunicator(application, "/ws/kiosk/", headers=[
        (b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"),
        (b"cookie", f"{TOKEN_COOKIE}={token}".encode("utf-8", "surrogatepass"))])
    assert await unpaired_close(comm) == 4401


def test_pairing_codes_are_single_use_and_expire() -> None:
    kiosk = Kiosk.objects.create(name="K", venue=Venue.objects.create(name="V"))
    code = kiosk_pairing_code_create(kiosk=kiosk)
    kiosk_pair(code=code)
    with pytest.raises(ApplicationError) as used:
        kiosk_pair(code=code)
    assert used.value.code == "pairing_code_invalid"
    expired = kiosk_pairing_code_create(kiosk=kiosk)
    Kiosk.objects.filter(pk=kiosk.pk).update(pairing_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as late:
        kiosk_pair(code=expired)
    assert late.value.code == "pairing_code_invalid"


def test_only_a_hash_of_the_token_is_stored() -> None:
    kiosk = Kiosk.objects.create(name="K", venue=Venue.objects.create(name="V"))
    _kiosk, token = kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk))
    kiosk.refresh_from_db()
    assert token not in kiosk.token_hash and len(kiosk.token_hash) == 64
    assert kiosk_for_token(token) == kiosk
