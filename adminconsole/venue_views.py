"""Venues (admins): name, address, time zone (the console shows the venue's times in it) and the
venue's own hand-off alerts (e-mail addresses, a signed webhook)."""
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from adminconsole.service_form import ServiceForm
from adminconsole.time_zones import venue_zone
from common.errors import ApplicationError
from common.roles import Role, role_required
from common.timezones import time_zone_names
from kiosk.models import Venue
from kiosk.venues import VenueData, venue_list, venue_update


class VenueForm(ServiceForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False)
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"), choices=[(name, name) for name in time_zone_names()],
        help_text=gettext_lazy("The console shows this venue's conversations, hand-offs and kiosks in its local time."))
    handoff_emails = forms.CharField(
        label=gettext_lazy("E-mail when a customer asks for staff"), max_length=500, required=False,
        help_text=gettext_lazy("Addresses separated by commas; empty: no e-mail."))
    handoff_webhook_url = forms.URLField(label=gettext_lazy("Webhook for hand-off requests"), required=False,
                                         assume_scheme="https",
                                         help_text=gettext_lazy("A signed JSON POST per request; empty: none."))
    handoff_webhook_secret = forms.CharField(
        label=gettext_lazy("New webhook secret"), max_length=200, required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Empty keeps the current secret."))

    @staticmethod
    def initial_for(venue: Venue) -> dict[str, object]:
        return {"name": venue.name, "address": venue.address, "time_zone": venue.time_zone,
                "handoff_emails": venue.handoff_emails, "handoff_webhook_url": venue.handoff_webhook_url}

    def data_(self) -> VenueData:
        d = self.cleaned_data
        return VenueData(d["name"], d["address"], d["time_zone"], d["handoff_emails"], d["handoff_webhook_url"],
                         d["handoff_webhook_secret"] or None)


@role_required(Role.ADMIN)
@require_GET
def venue_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "console/venues/list.html", {"venues": venue_list(), "now": timezone.now()})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def venue_edit_view(request: HttpRequest, venue_id: int) -> HttpResponse:
    venue = get_object_or_404(Venue, pk=venue_id)
    form = VenueForm(request.POST or None, initial=VenueForm.initial_for(venue))
    if request.method == "POST" and form.is_valid():
        try:
            venue_update(venue=venue, data=form.data_(), user=request.user)
        except ApplicationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Venue saved."))
            return redirect("console:venue_edit", venue_id=venue.pk)
    context: dict[str, Any] = {"form": form, "venue": venue, "now": timezone.now(),
                               "kiosks": venue.kiosks.order_by("name")}
    with venue_zone(venue):
        return render(request, "console/venues/edit.html", context, status=400 if form.errors else 200)
