"""The hand-off desk: its WebSocket lets in staff only and hears of calls live; its page lists them with
the kiosk's place and the conversation so far; staff act on them with audited POSTs; every console
page carries the open count."""
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from audit.models import AuditEntry
from common.roles import Role
from config.asgi import application
from conversations import services
from conversations.handoff_desk import handoff_accept
from conversations.models import HandoffRequest, Turn
from kiosk.models import Kiosk, Venue
from tests.conftest import TEST_PASSWORD

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def call_for_staff(question: str = "Where can I buy a parking ticket?") -> HandoffRequest:
    kiosk = Kiosk.objects.get_or_create(name="Lobby kiosk", location="Level 1, by the fountain",
                                        venue=Venue.objects.get_or_create(name="Harbour Point Mall")[0])[0]
    public_id = uuid.uuid4()
    services.conversation_start(public_id=public_id, kiosk_id=kiosk.pk, language="en")
    services.transcript_turn_append(conversation_id=public_id, turn_id=uuid.uuid4(), role=Turn.Role.CUSTOMER,
                                    fields={"text": question, "language": "en", "complete": True})
    return services.handoff_request_create(conversation_id=public_id)


call_for_staff_async = database_sync_to_async(call_for_staff)


def desk_socket(session: str | None) -> WebsocketCommunicator:
    headers = list(HEADERS)
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return WebsocketCommunicator(application, "/ws/console/handoffs/", headers=headers)


def session_of(make_user: Callable[..., AbstractBaseUser], username: str, role: Role | None) -> str:
    user = make_user(username, role)
    client = Client()
    assert client.login(username=user.get_username(), password=TEST_PASSWORD)
    return str(client.cookies["sessionid"].value)


async def receive(comm: WebsocketCommunicator) -> dict[str, Any]:
    return dict(json.loads(await comm.receive_from(timeout=5)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [None, "anonymous"])
async def test_the_desk_socket_refuses_anyone_below_staff(make_user, role: str | None) -> None:  # type: ignore[no-untyped-def]
    session = None if role == "anonymous" else await database_sync_to_async(session_of)(make_user, "visitor", None)
    comm = desk_socket(session)
    connected, _ = await comm.connect()
    assert connected  # accepted, then told why and closed: the page stops reconnecting on 4403
    assert (await receive(comm))["code"] == "forbidden"
    closed = await comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}
    await call_for_staff_async()
    assert await comm.receive_nothing(timeout=0.3)


@pytest.mark.django_db(transaction=True)
async def test_staff_hear_a_call_for_staff_live_with_the_kiosks_place_and_its_acceptance(make_user) -> None:  # type: ignore[no-untyped-def]
    session = await database_sync_to_async(session_of)(make_user, "mei", Role.STAFF)
    comm = desk_socket(session)
    assert (await comm.connect())[0]
    assert await receive(comm) == {"type": "hello", "open_count": 0}

    handoff = await call_for_staff_async()
    assert await receive(comm) == {"type": "handoff", "id": handoff.pk, "status": "open", "open_count": 1,
                                   "kiosk": "Lobby kiosk", "location": "Level 1, by the fountain",
                                   "venue": "Harbour Point Mall"}
    await database_sync_to_async(handoff_accept)(handoff_id=handoff.pk, user=None)
    assert await receive(comm) == {"type": "handoff", "id": handoff.pk, "status": "accepted", "open_count": 0}
    await comm.disconnect()


@pytest.mark.django_db
def test_the_desk_page_shows_the_place_and_the_conversation_and_every_page_the_count(login) -> None:  # type: ignore[no-untyped-def]
    call_for_staff("Is there a pharmacy here?")
    staff = login(Role.STAFF)
    desk = staff.get("/console/handoffs/").content.decode()
    assert "Lobby kiosk · Level 1, by the fountain" in desk and "Is there a pharmacy here?" in desk
    assert "Waiting for staff" in desk
    fragment = staff.get("/console/handoffs/", HTTP_X_CONSOLE_FRAGMENT="1").content.decode()
    assert "Is there a pharmacy here?" in fragment and "<html" not in fragment
    overview = staff.get("/console/").content.decode()
    assert 'id="handoff-badge" data-count="1"' in overview
    assert login(None, username="nobody").get("/console/handoffs/").status_code == 403


@pytest.mark.django_db
def test_staff_accept_then_resolve_through_the_desk_and_each_is_audited(login) -> None:  # type: ignore[no-untyped-def]
    handoff = call_for_staff()
    staff = login(Role.STAFF, username="mei")
    response = staff.post(f"/console/handoffs/{handoff.pk}/accept/", follow=True)
    assert "someone is coming" in response.content.decode()
    assert "mei is on the way" in response.content.decode()
    again = staff.post(f"/console/handoffs/{handoff.pk}/accept/", follow=True).content.decode()
    assert "already staff on the way" in again
    staff.post(f"/console/handoffs/{handoff.pk}/resolve/")
    handoff.refresh_from_db()
    assert handoff.status == HandoffRequest.Status.RESOLVED and handoff.resolved_by is not None
    entries = AuditEntry.objects.filter(target_type="conversations.handoffrequest", target_id=str(handoff.pk))
    assert list(entries.order_by("id").values_list("action", "actor_name")) == [
        ("handoff.accepted", "mei"), ("handoff.resolved", "mei")]
    assert staff.post(f"/console/handoffs/{handoff.pk}/launch/").status_code == 404
    assert Client().post(f"/console/handoffs/{handoff.pk}/unavailable/").status_code == 302  # to the login page
