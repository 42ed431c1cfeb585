"""IANA time zone names (``Asia/Hong_Kong``) as venues store them, checked against ``zoneinfo``."""
import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every zone this Python knows (its ``tzdata``), sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_time_zone(value: str) -> None:
    """A model and form validator: ``value`` must name a zone ``zoneinfo`` can load."""
    if value not in time_zone_names():
        raise ValidationError(_("“%(value)s” is not a time zone name such as Asia/Hong_Kong."),
                              code="invalid_time_zone", params={"value": value})


def default_time_zone() -> str:
    """A new venue's zone: the site's ``TIME_ZONE`` (``DJANGO_TIME_ZONE``)."""
    return str(settings.TIME_ZONE)


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone called ``name``; the site's default for a name that is no longer valid."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(default_time_zone())
