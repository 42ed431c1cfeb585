"""Venues as admins manage them (name, address, time zone, hand-off alerts), and the time zone
the console shows each venue's times in.

A page about one venue shows its times in that venue's zone; a page over several venues shows each
row in its own venue's zone; anything else (FAQs, documents, the audit log) in the console's zone:
the venues' zone when they all share one, else the site's ``TIME_ZONE``.
"""
import zoneinfo
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from audit.log import audit_record
from common.errors import ApplicationError
from common.timezones import default_time_zone, validate_time_zone, zone
from kiosk.models import Venue

Actor = AbstractBaseUser | AnonymousUser | None


@dataclass(frozen=True)
class VenueData:
    name: str
    address: str
    time_zone: str
    handoff_emails: str = ""
    handoff_webhook_url: str = ""
    handoff_webhook_secret: str | None = None  # None keeps the current secret


def venue_list() -> QuerySet[Venue]:
    """Every venue with its number of kiosks (``kiosk_count``), by name."""
    return Venue.objects.annotate(kiosk_count=Count("kiosks")).order_by("name", "pk")


def venue_time_zone(venue: Venue | None) -> zoneinfo.ZoneInfo:
    """Where ``venue`` is; the console's zone for a row with no venue (its kiosk was deleted)."""
    return zone(venue.time_zone) if venue is not None else console_time_zone()


def console_time_zone() -> zoneinfo.ZoneInfo:
    """The zone of pages that belong to no one venue: the venues' own when they share one."""
    names = list(Venue.objects.order_by().values_list("time_zone", flat=True).distinct()[:2])
    return zone(names[0] if len(names) == 1 else default_time_zone())


def venue_snapshot(venue: Venue) -> dict[str, object]:
    """What the audit log keeps of a venue: never its webhook secret, only whether one is set."""
    return {"name": venue.name, "address": venue.address, "time_zone": venue.time_zone,
            "handoff_emails": venue.handoff_emails, "handoff_webhook_url": venue.handoff_webhook_url,
            "handoff_webhook_secret_set": bool(venue.handoff_webhook_secret)}


def _clean(venue: Venue, data: VenueData) -> VenueData:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name or len(name) > 200:
        errors["name"] = _("A name of at most 200 characters is required.")
    elif Venue.objects.filter(name=name).exclude(pk=venue.pk).exists():
        errors["name"] = _("Another venue has this name.")  # kiosks name their venue: names must be unique
    try:
        validate_time_zone(data.time_zone)
    except ValidationError as exc:
        errors["time_zone"] = " ".join(exc.messages)
    emails = [address.strip() for address in data.handoff_emails.split(",") if address.strip()]
    try:
        for address in emails:
            validate_email(address)
    except ValidationError:
        errors["handoff_emails"] = _("Give e-mail addresses separated by commas.")
    url = data.handoff_webhook_url.strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["handoff_webhook_url"] = _("Give an http or https address.")
    if errors:
        raise ApplicationError("venue_invalid", " ".join(errors.values()), extra={"errors": errors})
    return VenueData(name, data.address.strip()[:300], data.time_zone, ", ".join(emails)[:500], url,
                     data.handoff_webhook_secret)


@transaction.atomic
def venue_update(*, venue: Venue, data: VenueData, user: Actor = None) -> Venue:
    cleaned = _clean(venue, data)
    before = venue_snapshot(venue)
    venue.name, venue.address, venue.time_zone = cleaned.name, cleaned.address, cleaned.time_zone
    venue.handoff_emails, venue.handoff_webhook_url = cleaned.handoff_emails, cleaned.handoff_webhook_url
    if cleaned.handoff_webhook_secret is not None:
        venue.handoff_webhook_secret = cleaned.handoff_webhook_secret
    venue.save()
    after = venue_snapshot(venue)
    if cleaned.handoff_webhook_secret is not None:
        after["handoff_webhook_secret_changed"] = True
    if after != before:
        audit_record(actor=user, action="venue.update", target=venue, before=before, after=after)
    return venue
