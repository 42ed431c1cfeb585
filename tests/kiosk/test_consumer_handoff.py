"""The kiosk's WebSocket and the hand-off desk: the page hears what staff do with its call, and a call
nobody accepts in time is missed (the page says so honestly); the page reports a missing or denied
microphone, and a closed page makes the kiosk offline at once."""
import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from conversations import services
from conversations.handoff_desk import handoff_accept
from conversations.models import HandoffRequest
from kiosk.fleet import kiosk_activity, kiosk_state
from kiosk.models import Kiosk
from tests.kiosk.test_consumer import communicator, paired_kiosk, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_embedded_worker(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AVATAR_EMBEDDED_WORKER = False


@database_sync_to_async
def call_for_staff(kiosk: Kiosk) -> HandoffRequest:
    public_id = uuid.uuid4()
    services.conversation_start(public_id=public_id, kiosk_id=kiosk.pk, language="en")
    return services.handoff_request_create(conversation_id=public_id)


async def connected_kiosk() -> tuple[Kiosk, WebsocketCommunicator]:
    kiosk, token = await paired_kiosk()
    comm = communicator(token)
    assert (await comm.connect())[0]
    await receive_until(comm, "error")  # no worker in these tests
    return kiosk, comm


async def test_the_page_hears_that_staff_accepted_its_call(settings) -> None:  # type: ignore[no-untyped-def]
    settings.HANDOFF_ACCEPT_MINUTES = 3
    kiosk, comm = await connected_kiosk()
    handoff = await call_for_staff(kiosk)
    assert await receive_until(comm, "handoff") == {"type": "handoff", "status": "open"}
    await database_sync_to_async(handoff_accept)(handoff_id=handoff.pk, user=None)
    assert await receive_until(comm, "handoff") == {"type": "handoff", "status": "accepted"}
    await comm.disconnect()


async def test_a_call_nobody_accepts_in_time_is_missed_and_the_page_is_told(settings) -> None:  # type: ignore[no-untyped-def]
    settings.HANDOFF_ACCEPT_MINUTES = 0.01  # 0.6 s
    kiosk, comm = await connected_kiosk()
    handoff = await call_for_staff(kiosk)
    assert (await receive_until(comm, "handoff"))["status"] == "open"
    assert (await receive_until(comm, "handoff"))["status"] == "missed"
    await database_sync_to_async(handoff.refresh_from_db)()
    assert handoff.status == HandoffRequest.Status.MISSED
    await comm.disconnect()


async def test_the_page_reports_its_microphone_and_the_console_shows_it() -> None:
    kiosk, comm = await connected_kiosk()
    await comm.send_to(text_data=json.dumps({"type": "microphone", "problem": "denied"}))
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    await receive_until(comm, "pong")  # the report before it was handled
    await database_sync_to_async(kiosk.refresh_from_db)()
    assert kiosk.microphone == "denied" and kiosk_activity(kiosk) == "no_microphone"

    await comm.send_to(text_data=json.dumps({"type": "microphone", "problem": "unplugged?"}))
    assert (await receive_until(comm, "error"))["code"] == "bad_microphone"
    await comm.send_to(text_data=json.dumps({"type": "microphone", "problem": ""}))  # allowed after all
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    await receive_until(comm, "pong")
    await database_sync_to_async(kiosk.refresh_from_db)()
    assert kiosk.microphone == "" and kiosk_activity(kiosk) != "no_microphone"
    await comm.disconnect()


async def test_a_kiosk_whose_page_closed_is_offline_at_once_and_online_when_it_comes_back() -> None:
    kiosk, token = await paired_kiosk()
    comm = communicator(token)
    assert (await comm.connect())[0]
    await receive_until(comm, "error")
    await database_sync_to_async(kiosk.refresh_from_db)()
    assert kiosk_state(kiosk) == "online"
    await comm.disconnect()
    await asyncio.sleep(0.1)
    await database_sync_to_async(kiosk.refresh_from_db)()
    assert kiosk_state(kiosk) == "offline"  # not 90 s later, when its last heartbeat grows old

    again = communicator(token)
    assert (await again.connect())[0]
    await receive_until(again, "error")
    await database_sync_to_async(kiosk.refresh_from_db)()
    assert kiosk_state(kiosk) == "online"
    await again.disconnect()


async def test_a_page_replaced_by_another_screen_leaves_the_kiosk_online() -> None:
    kiosk, token = await paired_kiosk()
    first = communicator(token)
    assert (await first.connect())[0]
    await receive_until(first, "error")
    second = communicator(token)
    assert (await second.connect())[0]
    assert (await receive_until(first, "error", limit=20))["code"] == "replaced"
    await asyncio.sleep(0.1)
    await database_sync_to_async(kiosk.refresh_from_db)()
    assert kiosk_state(kiosk) == "online"
    await second.disconnect()


async def test_a_page_that_reconnects_is_told_its_call_is_accepted(settings) -> None:  # type: ignore[no-untyped-def]
    settings.HANDOFF_ACCEPT_MINUTES = 3
    kiosk, token = await paired_kiosk()
    handoff = await call_for_staff(kiosk)
    await database_sync_to_async(handoff_accept)(handoff_id=handoff.pk, user=None)
    comm = communicator(token)
    assert (await comm.connect())[0]
    assert await receive_until(comm, "handoff") == {"type": "handoff", "status": "accepted"}
    await comm.disconnect()


async def test_a_call_still_open_when_the_page_reconnects_is_missed_on_time(settings) -> None:  # type: ignore[no-untyped-def]
    settings.HANDOFF_ACCEPT_MINUTES = 0.01
    kiosk, token = await paired_kiosk()
    await call_for_staff(kiosk)  # while no page was connected
    comm = communicator(token)
    assert (await comm.connect())[0]
    assert (await receive_until(comm, "handoff"))["status"] == "open"
    assert (await receive_until(comm, "handoff"))["status"] == "missed"
    await comm.disconnect()
