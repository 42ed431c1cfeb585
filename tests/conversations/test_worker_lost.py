"""When a worker dies mid-answer, the record keeps the conversation and marks the cut-off answer."""
import uuid

import pytest

from conversations import services
from conversations.models import Conversation, Turn
from conversations.selectors import conversation_history
from kiosk.models import Kiosk, Venue

pytestmark = pytest.mark.django_db


def conversation_with_answer_in_progress() -> uuid.UUID:
    kiosk = Kiosk.objects.create(name="K", venue=Venue.objects.create(name="V"))
    public_id = uuid.uuid4()
    services.conversation_start(public_id=public_id, kiosk_id=kiosk.pk, language="en")
    turns = [
        ("customer", {"text": "Where is the cinema?", "complete": True}),
        ("avatar", {"text": "Harbour Cinema is on the 6th floor.", "heard_text": "Harbour Cinema is on the 6th floor.",
                    "complete": True}),
        ("customer", {"text": "And the MTR?", "complete": True}),
        ("avatar", {"text": "Take the escalator down to B1.", "complete": False}),
    ]
    for role, fields in turns:
        services.transcript_turn_append(conversation_id=public_id, turn_id=uuid.uuid4(), role=role, fields=fields)
    return public_id


def test_the_answer_being_spoken_is_marked_interrupted_and_the_conversation_stays_open() -> None:
    public_id = conversation_with_answer_in_progress()
    assert services.conversation_worker_lost(public_id=public_id) == 1
    conversation = Conversation.objects.get(public_id=public_id)
    assert conversation.status == Conversation.Status.ACTIVE
    last = conversation.turns.order_by("-index").first()
    assert last is not None and last.role == Turn.Role.AVATAR and last.interrupted and last.complete
    assert not conversation.turns.filter(index__lt=3, interrupted=True).exists()
    assert services.conversation_worker_lost(public_id=public_id) == 0  # nothing left in progress


def test_history_for_the_next_worker_is_what_was_said_in_order() -> None:
    public_id = conversation_with_answer_in_progress()
    services.conversation_worker_lost(public_id=public_id)
    assert conversation_history(public_id=public_id, limit=3) == [
        ("avatar", "Harbour Cinema is on the 6th floor."),
        ("customer", "And the MTR?"),
        ("avatar", "Take the escalator down to B1."),
    ]
