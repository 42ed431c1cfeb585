"""``venue_local``: a time in its venue's zone, for pages that list several venues' rows."""
from datetime import datetime
from typing import Any

from django import template
from django.templatetags.tz import do_timezone

from kiosk.models import Venue
from kiosk.venues import venue_time_zone

register = template.Library()


@register.filter
def venue_local(value: Any, venue: Venue | None) -> Any:
    """``{{ when|venue_local:kiosk.venue|date:"Y-m-d H:i T" }}``; with no venue, the page's zone."""
    if not isinstance(value, datetime) or not isinstance(venue, Venue):
        return value
    return do_timezone(value, venue_time_zone(venue))
