"""The log of supervisors' access to conversation records (privacy: who read what, when)."""
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from conversations.models import TranscriptAccess


def transcript_access_record(
    *,
    user: AbstractBaseUser | AnonymousUser,
    action: str,
    conversation_id: uuid.UUID | None = None,
    turn_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> TranscriptAccess:
    """Record that ``user`` viewed a conversation, played a clip or exported transcripts."""
    if action not in TranscriptAccess.Action.values:
        raise ValueError(f"unknown transcript access action {action!r}")
    return TranscriptAccess.objects.create(
        user_id=user.pk if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else "",
        action=action,
        conversation_public_id=conversation_id,
        turn_public_id=turn_id,
        detail=detail or {},
    )


def transcript_access_list(
    *, username: str | None = None, conversation_id: uuid.UUID | None = None
) -> QuerySet[TranscriptAccess]:
    entries = TranscriptAccess.objects.all()
    if username:
        entries = entries.filter(username=username)
    if conversation_id:
        entries = entries.filter(conversation_public_id=conversation_id)
    return entries.order_by("-created_at", "-id")
