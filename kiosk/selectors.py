"""Reads for the kiosk app."""
import uuid

from kiosk.models import Avatar, Kiosk, Turn


def kiosk_default() -> Kiosk | None:
    """The first enabled kiosk: what an unpaired laptop demo shows until pairing exists."""
    return Kiosk.objects.filter(enabled=True).select_related("avatar", "venue").order_by("id").first()


def avatar_ready_list() -> list[Avatar]:
    return list(Avatar.objects.filter(status=Avatar.Status.READY).order_by("name"))


def conversation_history(*, public_id: uuid.UUID, limit: int) -> list[tuple[str, str]]:
    """The last ``limit`` turns as (role, text), the avatar's as the customer heard them."""
    turns = Turn.objects.filter(conversation__public_id=public_id).order_by("-index")[:limit]
    # A worker that died mid-answer never recorded what was heard: its text stands in.
    history = [(t.role, t.heard_text if t.interrupted and t.heard_text else t.text) for t in turns]
    return [(role, text) for role, text in reversed(history) if text]
