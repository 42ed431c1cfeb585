"""The console's times in venues' local time (see ``kiosk.venues``).

``ConsoleTimeZoneMiddleware`` makes the console's zone current for every console page; a view
about one venue renders inside ``venue_zone(venue)``; a template listing several venues' rows
converts each with ``{% load console_time %}{{ when|venue_local:row.venue|date:"Y-m-d H:i T" }}``.
"""
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from kiosk.models import Venue
from kiosk.venues import console_time_zone, venue_time_zone


class ConsoleTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only signed-in users see times (the login page needs no database: no venue is read for it).
        if not request.path.startswith(reverse("console:home")) or not request.user.is_authenticated:
            return self.get_response(request)
        with timezone.override(console_time_zone()):
            return self.get_response(request)


def venue_zone(venue: Venue | None) -> AbstractContextManager[object]:
    """Render a page about ``venue`` in its zone (a page with no venue keeps the console's)."""
    return timezone.override(venue_time_zone(venue)) if venue is not None else nullcontext()
