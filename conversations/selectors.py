"""Reads for conversation records."""
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from conversations.models import HANDOFF_PENDING, HandoffRequest, Turn


def conversation_history(*, public_id: uuid.UUID, limit: int) -> list[tuple[str, str]]:
    """The last ``limit`` turns as (role, text), the avatar's as the customer heard them."""
    turns = Turn.objects.filter(conversation__public_id=public_id).order_by("-index")[:limit]
    # A worker that died mid-answer never recorded what was heard: its text stands in.
    history = [(t.role, t.heard_text if t.interrupted and t.heard_text else t.text) for t in turns]
    return [(role, text) for role, text in reversed(history) if text]


def handoff_pending_list() -> QuerySet[HandoffRequest]:
    """Requests staff still have to act on, oldest first, with their kiosk, venue and conversation."""
    return (HandoffRequest.objects.filter(status__in=HANDOFF_PENDING)
            .select_related("kiosk__venue", "accepted_by", "conversation").order_by("created_at", "id"))


def handoff_recently_closed(*, limit: int = 10) -> QuerySet[HandoffRequest]:
    return (HandoffRequest.objects.exclude(status__in=HANDOFF_PENDING)
            .select_related("kiosk__venue", "accepted_by", "resolved_by").order_by("-created_at", "-id")[:limit])


def handoff_open_count() -> int:
    """Requests nobody has accepted yet (the console's badge)."""
    return HandoffRequest.objects.filter(status=HandoffRequest.Status.OPEN).count()


def handoff_get(*, handoff_id: int) -> HandoffRequest | None:
    return HandoffRequest.objects.select_related("kiosk__venue").filter(pk=handoff_id).first()


def handoff_pending_for_kiosk(*, kiosk_id: int) -> HandoffRequest | None:
    """The kiosk's latest request staff still have to act on (a page that reconnects picks it up);
    one accepted longer than ``HANDOFF_ACCEPTED_SHOWN_MINUTES`` ago and never resolved no longer counts."""
    shown_since = timezone.now() - timedelta(minutes=settings.HANDOFF_ACCEPTED_SHOWN_MINUTES)
    stale = Q(status=HandoffRequest.Status.ACCEPTED, accepted_at__lt=shown_since)
    return handoff_pending_list().filter(kiosk_id=kiosk_id).exclude(stale).order_by("-created_at", "-id").first()
