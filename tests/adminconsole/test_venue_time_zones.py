"""The console shows times where they happened: a page about one venue in its zone, a list over several
venues each row in its own venue's zone with the abbreviation, the rest in the venues' shared zone;
admins set a venue's zone on its Venues page."""
import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from common.roles import Role
from conversations import services
from conversations.models import Conversation, HandoffRequest
from kiosk.models import Kiosk, Venue
from tests.adminconsole.conftest import Exchange

pytestmark = pytest.mark.django_db
# 23:30 UTC on 1 March: 07:30 on 2 March in Hong Kong, 08:30 in Tokyo
STARTED = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


@pytest.fixture
def two_venues() -> tuple[Kiosk, Kiosk]:
    mall = Venue.objects.create(name="Harbour Point Mall", time_zone="Asia/Hong_Kong")
    museum = Venue.objects.create(name="Ueno Museum", time_zone="Asia/Tokyo")
    return (Kiosk.objects.create(name="Mall lobby", venue=mall),
            Kiosk.objects.create(name="Museum hall", venue=museum))


def started_at(conversation: Conversation, when: datetime = STARTED) -> Conversation:
    Conversation.objects.filter(pk=conversation.pk).update(started_at=when)
    return Conversation.objects.get(pk=conversation.pk)


def test_the_transcript_list_shows_each_row_in_its_venues_zone(
        login: Callable[..., Client], make_conversation: Callable[..., Conversation],
        two_venues: tuple[Kiosk, Kiosk]) -> None:
    mall, museum = two_venues
    started_at(make_conversation(mall, [Exchange("Where is the toilet?")]))
    started_at(make_conversation(museum, [Exchange("Where is the cloakroom?")]))
    html = login(Role.SUPERVISOR).get(reverse("console:transcript_list")).content.decode()
    assert "2026-03-02 07:30 HKT" in html and "2026-03-02 08:30 JST" in html


def test_a_conversation_is_shown_in_its_venues_zone(
        login: Callable[..., Client], make_conversation: Callable[..., Conversation],
        two_venues: tuple[Kiosk, Kiosk]) -> None:
    conversation = started_at(make_conversation(two_venues[1], [Exchange("Where is the cloakroom?")]))
    html = login(Role.SUPERVISOR).get(reverse("console:transcript_detail", args=[conversation.public_id])).content.decode()
    assert "2026-03-02 08:30:00 JST" in html and "Ueno Museum (Asia/Tokyo)" in html


def test_the_csv_export_gives_each_conversation_its_venues_local_time(
        login: Callable[..., Client], make_conversation: Callable[..., Conversation],
        two_venues: tuple[Kiosk, Kiosk]) -> None:
    started_at(make_conversation(two_venues[0], [Exchange("Where is the toilet?")]))
    response = login(Role.SUPERVISOR).get(reverse("console:transcript_export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows and {row["started_at"] for row in rows} == {"2026-03-02T07:30:00+08:00"}


def test_the_hand_off_desk_and_its_live_list_show_each_call_in_its_venues_time(
        login: Callable[..., Client], two_venues: tuple[Kiosk, Kiosk]) -> None:
    for kiosk in two_venues:
        public_id = uuid.uuid4()
        services.conversation_start(public_id=public_id, kiosk_id=kiosk.pk, language="en")
        services.handoff_request_create(conversation_id=public_id)
    HandoffRequest.objects.update(created_at=STARTED)
    staff = login(Role.STAFF)
    fragment = staff.get(reverse("console:handoff_desk"), headers={"X-Console-Fragment": "1"}).content.decode()
    assert "07:30 HKT" in fragment and "08:30 JST" in fragment
    HandoffRequest.objects.update(status=HandoffRequest.Status.RESOLVED)
    closed = staff.get(reverse("console:handoff_desk")).content.decode()
    assert "2026-03-02 07:30 HKT" in closed and "2026-03-02 08:30 JST" in closed


def test_one_kiosks_dashboard_counts_its_venues_days(
        login: Callable[..., Client], make_conversation: Callable[..., Conversation],
        two_venues: tuple[Kiosk, Kiosk], settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    mall = two_venues[0]
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    evening = datetime.combine(yesterday, time(16, 30), tzinfo=UTC)  # 00:30 the next day in Hong Kong
    started_at(make_conversation(mall, [Exchange("Where is the toilet?")]), evening)
    response = login(Role.SUPERVISOR).get(reverse("console:dashboard"), {"kiosk": mall.pk, "days": 7})
    counted = {day.day: day.conversations for day in response.context["data"].days}
    assert counted[yesterday + timedelta(days=1)] == 1 and counted[yesterday] == 0
    assert "days in Asia/Hong_Kong time" in response.content.decode()


def test_pages_of_no_one_venue_use_the_zone_the_venues_share(
        login: Callable[..., Client], settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    kiosk = Kiosk.objects.create(name="Lobby", venue=Venue.objects.create(name="Mall", time_zone="Asia/Seoul"))
    admin = login(Role.ADMIN)
    admin.post(reverse("console:kiosk_pairing", args=[kiosk.pk]))  # an audited action, now
    assert " KST" in admin.get(reverse("console:audit_list")).content.decode()
    Venue.objects.create(name="Museum", time_zone="Asia/Tokyo")  # venues disagree: the site's zone
    assert " UTC" in admin.get(reverse("console:audit_list")).content.decode()


def test_a_kiosks_page_shows_its_venue_and_times_in_its_zone(login: Callable[..., Client]) -> None:
    kiosk = Kiosk.objects.create(name="Lobby", venue=Venue.objects.create(name="Mall", time_zone="Asia/Seoul"),
                                 last_seen_at=STARTED)
    html = login(Role.ADMIN).get(reverse("console:kiosk_edit", args=[kiosk.pk])).content.decode()
    assert "2026-03-02 08:30 KST" in html and reverse("console:venue_edit", args=[kiosk.venue_id]) in html


def test_admins_set_a_venues_time_zone(login: Callable[..., Client]) -> None:
    venue = Venue.objects.create(name="Mall", time_zone="UTC", handoff_webhook_secret="kept")
    admin = login(Role.ADMIN, csrf=False)
    listing = admin.get(reverse("console:venue_list")).content.decode()
    assert "Mall" in listing and "<code>UTC</code>" in listing
    url = reverse("console:venue_edit", args=[venue.pk])
    form = {"name": "Mall", "address": "", "time_zone": "Asia/Hong_Kong", "handoff_emails": "",
            "handoff_webhook_url": "", "handoff_webhook_secret": ""}
    response = admin.post(url, form)
    assert response.status_code == 302
    venue.refresh_from_db()
    assert venue.time_zone == "Asia/Hong_Kong" and venue.handoff_webhook_secret == "kept"
    assert AuditEntry.objects.filter(action="venue.update", target_id=str(venue.pk)).exists()
    assert " HKT" in admin.get(url).content.decode()  # the page itself is in the venue's time
    refused = admin.post(url, {**form, "time_zone": "Asia/Atlantis"})
    assert refused.status_code == 400 and "Asia/Atlantis" in refused.content.decode()


@pytest.mark.parametrize("role", [None, Role.STAFF, Role.SUPERVISOR])
def test_only_admins_open_the_venue_pages(login: Callable[..., Client], role: Role | None) -> None:
    venue = Venue.objects.create(name="Mall")
    client = login(role)
    assert client.get(reverse("console:venue_list")).status_code == 403
    assert client.post(reverse("console:venue_edit", args=[venue.pk]), {"name": "X"}).status_code == 403
