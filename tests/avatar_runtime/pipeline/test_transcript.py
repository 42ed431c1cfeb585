"""The transcript writer against the real store and database: a record the database refuses for good
is skipped (retrying it would hold up every record behind it for ever), and the rest is written.

A store that cannot be reached is retried instead: tests/reliability/test_store_restarts.py.
"""
import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from avatar_runtime.pipeline.clock import RealClock
from avatar_runtime.pipeline.transcript import TranscriptWriter
from conversations.models import Conversation, Turn
from conversations.transcript_store import DjangoTranscriptStore
from kiosk.models import Kiosk, Venue

pytestmark = [pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def new_kiosk() -> Kiosk:
    return Kiosk.objects.create(name="K", venue=Venue.objects.create(name="V"))


@database_sync_to_async
def stored(conversation_id: uuid.UUID) -> tuple[str, list[str]]:
    conversation = Conversation.objects.get(public_id=conversation_id)
    return conversation.status, [t.text for t in Turn.objects.filter(conversation=conversation).order_by("index")]


@pytest.mark.parametrize("refused", [
    "Harbour Cinema is on the 6th floor.\ud800",  # a lone surrogate: no database can encode it
    "Harbour Cinema\x00 is on the 6th floor.",  # NUL: PostgreSQL refuses it
])
async def test_a_turn_the_database_refuses_is_skipped_and_every_other_record_is_written(
        refused: str, caplog: pytest.LogCaptureFixture) -> None:
    if "\x00" in refused and connection.vendor != "postgresql":
        pytest.skip("SQLite stores NUL")
    kiosk = await new_kiosk()
    writer = TranscriptWriter(DjangoTranscriptStore(kiosk.pk), RealClock(), "refused-turn")
    task = asyncio.create_task(writer.run())
    conversation, bad = uuid.uuid4(), uuid.uuid4()
    writer.put("conversation_start", conversation, "en")
    writer.put("turn_append", conversation, uuid.uuid4(), "customer", {"text": "Where is the cinema?", "complete": True})
    writer.put("turn_append", conversation, bad, "avatar", {"text": refused, "complete": False})
    writer.put("turn_update", bad, {"complete": True})  # the refused turn's update: that turn does not exist
    writer.put("turn_append", conversation, uuid.uuid4(), "customer", {"text": "Thank you", "complete": True})
    writer.put("conversation_end", conversation, "inactivity")
    try:
        assert await writer.drain(timeout=20), "the writer is stuck retrying a record that can never be written"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (writer.written, writer.rejected) == (4, 2)
    assert await stored(conversation) == (Conversation.Status.ENDED, ["Where is the cinema?", "Thank you"])
    assert "retrying" not in caplog.text
    assert refused not in caplog.text  # the logs name the record, never the customer's words
