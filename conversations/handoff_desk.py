"""What staff do with a customer's call for help: accept it, resolve it, or say nobody is available;
and what happens when nobody accepts it in time (``HANDOFF_ACCEPT_MINUTES``): it is missed.

Each change is saved with who made it and when, audited, and announced after commit (the desk,
every console page's count, and the kiosk's page, which tells the customer).
"""
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from audit.log import audit_record
from common.errors import ApplicationError, NotFound
from conversations.handoff_events import handoff_announce_on_commit
from conversations.models import HANDOFF_PENDING, HandoffRequest

Actor = AbstractBaseUser | AnonymousUser | None
Status = HandoffRequest.Status


def handoff_accept_window() -> timedelta:
    return timedelta(minutes=settings.HANDOFF_ACCEPT_MINUTES)


def _locked(handoff_id: int) -> HandoffRequest:
    try:
        return HandoffRequest.objects.select_for_update().get(pk=handoff_id)
    except HandoffRequest.DoesNotExist as exc:
        raise NotFound("handoff_not_found", f"No hand-off request {handoff_id}.") from exc


def _change(handoff: HandoffRequest, status: str, *, allowed: tuple[str, ...], actor: Actor) -> HandoffRequest:
    if handoff.status not in allowed:
        raise ApplicationError("handoff_already_" + handoff.status,
                               f"This request is already {handoff.get_status_display().lower()}.", status=409)
    before = {"status": handoff.status}
    now = timezone.now()
    user = actor if actor is not None and actor.is_authenticated else None
    handoff.status = status
    if status == Status.ACCEPTED:
        handoff.accepted_at, handoff.accepted_by = now, user  # type: ignore[assignment]
    else:
        handoff.resolved_at, handoff.resolved_by = now, user  # type: ignore[assignment]
    handoff.save()
    audit_record(actor=actor, action=f"handoff.{status}", target=handoff, before=before, after={"status": status})
    handoff_announce_on_commit(handoff)
    return handoff


@transaction.atomic
def handoff_accept(*, handoff_id: int, user: Actor) -> HandoffRequest:
    """Someone is on the way: the kiosk tells the customer."""
    return _change(_locked(handoff_id), Status.ACCEPTED, allowed=(Status.OPEN,), actor=user)


@transaction.atomic
def handoff_resolve(*, handoff_id: int, user: Actor) -> HandoffRequest:
    return _change(_locked(handoff_id), Status.RESOLVED, allowed=HANDOFF_PENDING, actor=user)


@transaction.atomic
def handoff_nobody_available(*, handoff_id: int, user: Actor) -> HandoffRequest:
    """Nobody can come: the kiosk says so, and where else to ask."""
    return _change(_locked(handoff_id), Status.UNAVAILABLE, allowed=HANDOFF_PENDING, actor=user)


@transaction.atomic
def handoff_miss_if_unanswered(*, handoff_id: int, now: datetime | None = None) -> bool:
    """Mark the request missed if it is still open after the accept window; True if it was."""
    handoff = HandoffRequest.objects.select_for_update().filter(pk=handoff_id).first()
    now = now or timezone.now()
    if handoff is None or handoff.status != Status.OPEN or now - handoff.created_at < handoff_accept_window():
        return False
    _change(handoff, Status.MISSED, allowed=(Status.OPEN,), actor=None)
    return True
