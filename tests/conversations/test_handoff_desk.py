"""Hand-off requests from the customer's call to staff's answer: statuses, who and when, audit, timeout."""
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import AbstractBaseUser

from audit.models import AuditEntry
from common.errors import ApplicationError
from common.roles import Role
from conversations import services
from conversations.handoff_desk import (
    handoff_accept,
    handoff_miss_if_unanswered,
    handoff_nobody_available,
    handoff_resolve,
)
from conversations.models import HandoffRequest
from conversations.selectors import handoff_open_count, handoff_pending_for_kiosk, handoff_pending_list
from kiosk.models import Kiosk, Venue

pytestmark = [pytest.mark.django_db]
Status = HandoffRequest.Status


@pytest.fixture
def handoff() -> HandoffRequest:
    kiosk = Kiosk.objects.create(name="Lobby kiosk", location="Level 1, by the fountain",
                                 venue=Venue.objects.create(name="Harbour Point Mall"))
    public_id = uuid.uuid4()
    services.conversation_start(public_id=public_id, kiosk_id=kiosk.pk, language="en")
    return services.handoff_request_create(conversation_id=public_id)


@pytest.fixture
def staff(make_user) -> AbstractBaseUser:  # type: ignore[no-untyped-def]
    return make_user("mei", Role.STAFF)


def test_a_call_for_staff_is_open_and_counted_and_pressing_again_does_not_call_twice(handoff: HandoffRequest) -> None:
    assert handoff.status == Status.OPEN and handoff.kiosk is not None
    again = services.handoff_request_create(conversation_id=handoff.conversation.public_id)
    assert again.pk == handoff.pk
    assert handoff_open_count() == 1 and list(handoff_pending_list()) == [handoff]


def test_accept_then_resolve_records_who_and_when_and_audits_each(handoff: HandoffRequest, staff: AbstractBaseUser) -> None:
    accepted = handoff_accept(handoff_id=handoff.pk, user=staff)
    assert accepted.status == Status.ACCEPTED and accepted.accepted_by == staff and accepted.accepted_at is not None
    assert handoff_open_count() == 0 and list(handoff_pending_list()) == [handoff]  # still to resolve
    resolved = handoff_resolve(handoff_id=handoff.pk, user=staff)
    assert resolved.status == Status.RESOLVED and resolved.resolved_by == staff and resolved.resolved_at is not None
    assert list(handoff_pending_list()) == []
    entries = AuditEntry.objects.filter(target_id=str(handoff.pk)).order_by("id")
    assert [(e.action, e.actor_name, e.before, e.after) for e in entries] == [
        ("handoff.accepted", "mei", {"status": "open"}, {"status": "accepted"}),
        ("handoff.resolved", "mei", {"status": "accepted"}, {"status": "resolved"}),
    ]


def test_a_closed_request_cannot_be_accepted_and_says_why(handoff: HandoffRequest, staff: AbstractBaseUser) -> None:
    handoff_nobody_available(handoff_id=handoff.pk, user=staff)
    with pytest.raises(ApplicationError) as refused:
        handoff_accept(handoff_id=handoff.pk, user=staff)
    assert refused.value.code == "handoff_already_unavailable" and refused.value.status == 409
    assert HandoffRequest.objects.get(pk=handoff.pk).status == Status.UNAVAILABLE
    # A new call from the same conversation is a new request, not the closed one.
    assert services.handoff_request_create(conversation_id=handoff.conversation.public_id).pk != handoff.pk


def test_nobody_accepting_within_the_window_is_a_miss_and_only_then(handoff: HandoffRequest, settings,  # type: ignore[no-untyped-def]
                                                                      staff: AbstractBaseUser) -> None:
    settings.HANDOFF_ACCEPT_MINUTES = 3
    assert not handoff_miss_if_unanswered(handoff_id=handoff.pk, now=handoff.created_at + timedelta(minutes=2.9))
    assert handoff_miss_if_unanswered(handoff_id=handoff.pk, now=handoff.created_at + timedelta(minutes=3))
    missed = HandoffRequest.objects.get(pk=handoff.pk)
    assert missed.status == Status.MISSED and missed.resolved_by is None
    assert AuditEntry.objects.get(action="handoff.missed").actor_name == ""  # the system, not a person
    with pytest.raises(ApplicationError):
        handoff_accept(handoff_id=handoff.pk, user=staff)


def test_an_accepted_request_is_never_missed(handoff: HandoffRequest, staff: AbstractBaseUser) -> None:
    handoff_accept(handoff_id=handoff.pk, user=staff)
    assert not handoff_miss_if_unanswered(handoff_id=handoff.pk, now=handoff.created_at + timedelta(hours=1))
    assert HandoffRequest.objects.get(pk=handoff.pk).status == Status.ACCEPTED


def test_an_accepted_call_nobody_resolved_stops_being_the_kiosks_after_the_shown_window(
        handoff: HandoffRequest, staff: AbstractBaseUser, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HANDOFF_ACCEPTED_SHOWN_MINUTES = 10
    handoff_accept(handoff_id=handoff.pk, user=staff)
    assert handoff_pending_for_kiosk(kiosk_id=handoff.kiosk_id) == handoff  # a page that reconnects is told
    HandoffRequest.objects.filter(pk=handoff.pk).update(accepted_at=handoff.created_at - timedelta(minutes=11))
    # Staff never pressed Resolved: the next customer is not told that someone is on the way.
    assert handoff_pending_for_kiosk(kiosk_id=handoff.kiosk_id) is None
    assert handoff in handoff_pending_list()  # the desk still lists it for staff to close
