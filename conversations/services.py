"""Writes for conversation records.

The avatar runtime persists through these (never through the models directly). Every write is
idempotent by public id, so a writer that retries after a lost acknowledgement never
duplicates a turn.
"""
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from common.errors import NotFound
from conversations.handoff_events import handoff_announce_on_commit
from conversations.models import HANDOFF_PENDING, Conversation, HandoffRequest, Turn
from conversations.redaction import redact_text
from conversations.signals import answer_clip_saved, handoff_requested

TURN_FIELDS = {
    "text", "language", "asr_confidence", "retrieved", "answerable", "answer_backend", "voice", "spoken_voice",
    "complete", "interrupted", "heard_text", "timings",
}
REDACTED_FIELDS = ("text", "heard_text")  # free text only; FAQ keys, scores and timings stay as they are


def _stored_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The turn fields as they are saved: with ``TRANSCRIPT_REDACTION`` on, personal data is replaced."""
    if not settings.TRANSCRIPT_REDACTION:
        return fields
    return {name: redact_text(value) if name in REDACTED_FIELDS and isinstance(value, str) else value
            for name, value in fields.items()}


@transaction.atomic
def conversation_start(*, public_id: uuid.UUID, kiosk_id: int | None, language: str) -> Conversation:
    conversation, _created = Conversation.objects.get_or_create(
        public_id=public_id, defaults={"kiosk_id": kiosk_id, "languages": [language] if language else []}
    )
    return conversation


def _conversation(public_id: uuid.UUID) -> Conversation:
    try:
        return Conversation.objects.select_for_update().get(public_id=public_id)
    except Conversation.DoesNotExist as exc:
        raise NotFound("conversation_not_found", f"No conversation {public_id}.") from exc


@transaction.atomic
def transcript_turn_append(
    *, conversation_id: uuid.UUID, turn_id: uuid.UUID, role: str, fields: dict[str, Any]
) -> Turn:
    """Create the turn (or update it, if this write is a retry) at the end of the conversation."""
    unknown = set(fields) - TURN_FIELDS
    if unknown:
        raise ValueError(f"unknown turn fields: {sorted(unknown)}")
    fields = _stored_fields(fields)
    conversation = _conversation(conversation_id)
    turn = Turn.objects.filter(public_id=turn_id).first()
    if turn is None:
        index = conversation.turns.count()
        turn = Turn.objects.create(conversation=conversation, public_id=turn_id, index=index, role=role, **fields)
    else:
        for name, value in fields.items():
            setattr(turn, name, value)
        turn.save()
    language = fields.get("language")
    if language and language not in conversation.languages:
        conversation.languages = [*conversation.languages, language]
        conversation.save(update_fields=["languages"])
    return turn


@transaction.atomic
def transcript_turn_update(*, turn_id: uuid.UUID, fields: dict[str, Any]) -> Turn:
    unknown = set(fields) - TURN_FIELDS
    if unknown:
        raise ValueError(f"unknown turn fields: {sorted(unknown)}")
    fields = _stored_fields(fields)
    try:
        turn = Turn.objects.select_for_update().get(public_id=turn_id)
    except Turn.DoesNotExist as exc:
        raise NotFound("turn_not_found", f"No turn {turn_id}.") from exc
    for name, value in fields.items():
        setattr(turn, name, value)
    turn.save()
    return turn


@transaction.atomic
def turn_clip_attach(*, turn_id: uuid.UUID, kind: str, content: bytes, filename: str) -> Turn:
    """Store the customer's audio (``kind="audio"``) or the rendered answer (``"answer"``).

    A rendered answer is then scored for lip sync (sampled, after commit: ``lipsync`` receives
    ``answer_clip_saved``).
    """
    turn = Turn.objects.get(public_id=turn_id)
    field = turn.audio_clip if kind == "audio" else turn.answer_clip
    field.save(filename, ContentFile(content), save=True)
    if kind == "answer":
        answer_clip_saved.send(sender=Turn, turn=turn)
    return turn


@transaction.atomic
def conversation_end(*, public_id: uuid.UUID, reason: str, aborted: bool = False) -> None:
    conversation = Conversation.objects.select_for_update().filter(public_id=public_id).first()
    if conversation is None or conversation.status != Conversation.Status.ACTIVE:
        return
    conversation.status = Conversation.Status.ABORTED if aborted else Conversation.Status.ENDED
    conversation.ended_at = timezone.now()
    conversation.end_reason = reason[:32]
    conversation.save(update_fields=["status", "ended_at", "end_reason"])
    # A turn the avatar was still speaking when the conversation stopped was cut short.
    conversation.turns.filter(role=Turn.Role.AVATAR, complete=False).update(interrupted=True)


@transaction.atomic
def conversation_worker_lost(*, public_id: uuid.UUID) -> int:
    """The worker serving the conversation died: the answer it was speaking was cut short.

    The conversation itself stays active (another worker carries it on); returns how many
    turns were marked interrupted.
    """
    return Turn.objects.filter(conversation__public_id=public_id, role=Turn.Role.AVATAR, complete=False).update(
        interrupted=True, complete=True, updated_at=timezone.now()
    )


@transaction.atomic
def handoff_request_create(*, conversation_id: uuid.UUID) -> HandoffRequest:
    """The customer asked for staff; announced to the console's hand-off desk after commit.

    A conversation whose request is still open or accepted keeps that one: pressing the button
    twice (or a writer's retry) does not call staff twice.
    """
    conversation = _conversation(conversation_id)
    pending = conversation.handoffs.filter(status__in=HANDOFF_PENDING).order_by("-created_at").first()
    if pending is not None:
        return pending
    conversation.handoff_requested = True
    conversation.save(update_fields=["handoff_requested"])
    handoff = HandoffRequest.objects.create(conversation=conversation, kiosk=conversation.kiosk)
    handoff_announce_on_commit(handoff)
    handoff_requested.send(sender=HandoffRequest, handoff=handoff)
    return handoff
