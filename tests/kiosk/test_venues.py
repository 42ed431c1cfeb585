"""Venues' time zones and settings: IANA names checked by zoneinfo, the site's zone for a new venue,
audited edits that never record the webhook secret, and the console's zone when venues agree or not."""
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from common.errors import ApplicationError
from common.timezones import validate_time_zone, zone
from kiosk.models import Venue
from kiosk.venues import VenueData, console_time_zone, venue_update

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["Asia/Hong_Kong", "Asia/Seoul", "UTC", "America/Argentina/Buenos_Aires"])
def test_iana_names_are_valid(name: str) -> None:
    validate_time_zone(name)


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "utc", "../etc/passwd", "Asia/Hong Kong"])
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_time_zone(name)
    assert caught.value.code == "invalid_time_zone"


def test_a_venue_saved_with_a_bad_name_is_read_in_the_site_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    assert zone("Not/A_Zone").key == "Asia/Tokyo"
    assert zone("Asia/Seoul").key == "Asia/Seoul"


def test_a_new_venue_takes_the_site_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Taipei"
    venue = Venue.objects.create(name="Station concourse")
    venue.full_clean()
    assert venue.time_zone == "Asia/Taipei"


def test_the_console_zone_is_the_venues_own_when_they_share_one(settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    assert console_time_zone().key == "UTC"  # no venue yet
    Venue.objects.create(name="Mall", time_zone="Asia/Hong_Kong")
    Venue.objects.create(name="Airport", time_zone="Asia/Hong_Kong")
    assert console_time_zone().key == "Asia/Hong_Kong"
    Venue.objects.create(name="Museum", time_zone="Asia/Tokyo")
    assert console_time_zone().key == "UTC"  # they disagree: the site's zone


def test_an_update_is_audited_without_the_secret(django_user_model: Any) -> None:
    admin = django_user_model.objects.create_user("root", is_superuser=True)
    venue = Venue.objects.create(name="Mall", handoff_webhook_secret="old-secret")
    venue_update(venue=venue, user=admin, data=VenueData(
        " Harbour Mall ", "1 Harbour Road", "Asia/Hong_Kong", "desk@example.com, ops@example.com",
        "https://hooks.example.com/kiosk", "new-secret"))
    venue.refresh_from_db()
    assert (venue.name, venue.time_zone, venue.handoff_webhook_secret) == ("Harbour Mall", "Asia/Hong_Kong", "new-secret")
    assert venue.handoff_emails == "desk@example.com, ops@example.com"
    entry = AuditEntry.objects.get(action="venue.update")
    assert entry.actor == admin
    assert entry.before["time_zone"] == "UTC" and entry.after["time_zone"] == "Asia/Hong_Kong"
    assert entry.after["handoff_webhook_secret_changed"] is True
    recorded = json.dumps([entry.before, entry.after])
    assert "old-secret" not in recorded and "new-secret" not in recorded


def test_no_new_secret_keeps_the_old_one_and_no_change_is_not_audited() -> None:
    venue = Venue.objects.create(name="Mall", time_zone="Asia/Seoul", handoff_webhook_secret="kept")
    venue_update(venue=venue, data=VenueData("Mall", "", "Asia/Seoul"))
    venue.refresh_from_db()
    assert venue.handoff_webhook_secret == "kept"
    assert not AuditEntry.objects.filter(action="venue.update").exists()


def test_bad_settings_are_refused_field_by_field() -> None:
    Venue.objects.create(name="Airport")
    venue = Venue.objects.create(name="Mall", time_zone="Asia/Seoul")
    with pytest.raises(ApplicationError) as caught:
        venue_update(venue=venue, data=VenueData("Airport", "", "Asia/Atlantis", "not an address",
                                                 "ftp://example.com/hook"))
    assert caught.value.code == "venue_invalid"
    assert set(caught.value.extra["errors"]) == {  # type: ignore[arg-type]
        "name", "time_zone", "handoff_emails", "handoff_webhook_url"}
    venue.refresh_from_db()
    assert (venue.name, venue.time_zone) == ("Mall", "Asia/Seoul")
