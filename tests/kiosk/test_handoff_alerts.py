"""A venue's alerts for a call for staff: e-mail through Django's mail backend, and a webhook signed with
HMAC-SHA256 and retried, received here by a real HTTP server on loopback."""
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail

from conversations import services
from conversations.handoff_desk import handoff_accept
from conversations.models import HandoffRequest
from kiosk.handoff_alerts import handoff_alert_send, webhook_post
from kiosk.models import Kiosk, Venue

pytestmark = [pytest.mark.django_db]
SECRET = "venue-secret-1"


@dataclass
class Receiver:
    """An HTTP server that answers the first ``failures`` POSTs with 500, then 204."""

    url: str = ""
    failures: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(500 if len(state.received) <= state.failures else 204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/handoff"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def quick_retries(settings) -> None:  # type: ignore[no-untyped-def]
    settings.HANDOFF_WEBHOOK_RETRY_DELAYS = [0.05, 0.05]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def call_for_staff(venue: Venue) -> HandoffRequest:
    kiosk = Kiosk.objects.create(name="Lobby kiosk", location="Level 1", venue=venue)
    public_id = uuid.uuid4()
    services.conversation_start(public_id=public_id, kiosk_id=kiosk.pk, language="ja")
    return services.handoff_request_create(conversation_id=public_id)


@pytest.mark.usefixtures("celery_eager")  # the alert job runs here, also where a broker is configured
def test_a_new_call_sends_the_venues_email_and_a_signed_webhook_once_committed(
        receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    venue = Venue.objects.create(name="Harbour Point Mall", handoff_emails="desk@example.com, duty@example.com",
                                 handoff_webhook_url=receiver.url, handoff_webhook_secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        handoff = call_for_staff(venue)
    assert [m.to for m in mail.outbox] == [["desk@example.com", "duty@example.com"]]
    assert "Lobby kiosk · Level 1 · Harbour Point Mall" in mail.outbox[0].subject
    [(headers, body)] = receiver.received
    expected = hmac.new(SECRET.encode(), headers["x-kiosk-timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["x-kiosk-signature"] == f"sha256={expected.hexdigest()}"
    assert json.loads(body) | {"created_at": ""} == {
        "event": "handoff.requested", "id": handoff.pk, "kiosk": "Lobby kiosk", "location": "Level 1",
        "venue": "Harbour Point Mall", "languages": ["ja"], "created_at": ""}


def test_a_failing_webhook_is_retried_until_it_succeeds_or_the_retries_run_out(receiver: Receiver) -> None:
    receiver.failures = 2
    assert webhook_post(url=receiver.url, secret=SECRET, payload={"event": "x"})
    assert len(receiver.received) == 3
    receiver.received.clear()
    receiver.failures = 10
    assert not webhook_post(url=receiver.url, secret=SECRET, payload={"event": "x"})
    assert len(receiver.received) == 3  # the first attempt and two retries
    assert not webhook_post(url="http://127.0.0.1:9/hooks", secret=SECRET, payload={"event": "x"})  # refused


def test_no_alert_for_a_venue_without_any_or_for_a_call_already_answered(
        receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_for_staff(Venue.objects.create(name="Quiet venue"))
    assert mail.outbox == [] and receiver.received == []
    assert len(callbacks) == 1  # only the desk's announcement
    handoff = call_for_staff(Venue.objects.create(name="Busy venue", handoff_webhook_url=receiver.url))
    handoff_accept(handoff_id=handoff.pk, user=None)
    assert handoff_alert_send(handoff_id=handoff.pk) == {}
    assert receiver.received == []
