"""Reads for conversation records."""
import uuid

from conversations.models import HandoffRequest, Turn


def conversation_history(*, public_id: uuid.UUID, limit: int) -> list[tuple[str, str]]:
    """The last ``limit`` turns as (role, text), the avatar's as the customer heard them."""
    turns = Turn.objects.filter(conversation__public_id=public_id).order_by("-index")[:limit]
    # A worker that died mid-answer never recorded what was heard: its text stands in.
    history = [(t.role, t.heard_text if t.interrupted and t.heard_text else t.text) for t in turns]
    return [(role, text) for role, text in reversed(history) if text]


def handoffs_open_count() -> int:
    """Hand-off requests staff have not resolved yet."""
    return HandoffRequest.objects.filter(resolved_at__isnull=True).count()
