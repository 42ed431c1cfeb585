"""Kiosks (admins): status list, settings (languages, greetings, avatar), pairing codes, unpairing and deletion."""
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminconsole.service_form import ServiceForm
from adminconsole.time_zones import venue_zone
from avatars.models import Avatar
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES, LANGUAGE_CHOICES, LANGUAGE_LABELS
from common.roles import Role, role_required
from kiosk.fleet import (
    KioskData,
    kiosk_activity,
    kiosk_create,
    kiosk_delete,
    kiosk_pairing_issue,
    kiosk_service,
    kiosk_state,
    kiosk_status_list,
    kiosk_unpair,
    kiosk_update,
)
from kiosk.models import Kiosk
from kiosk.pairing import PAIRING_TTL


class KioskForm(ServiceForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    venue_name = forms.CharField(label=gettext_lazy("Venue"), max_length=200)
    location = forms.CharField(label=gettext_lazy("Location"), max_length=200, required=False)
    languages = forms.MultipleChoiceField(label=gettext_lazy("Languages offered"), choices=LANGUAGE_CHOICES,
                                          widget=forms.CheckboxSelectMultiple)
    default_language = forms.ChoiceField(label=gettext_lazy("Default language"), choices=LANGUAGE_CHOICES)
    avatar = forms.ModelChoiceField(label=gettext_lazy("Avatar"), queryset=Avatar.objects.none(), required=False)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["avatar"].queryset = Avatar.objects.filter(status=Avatar.Status.READY).order_by("name")  # type: ignore[attr-defined]
        for code in KIOSK_LANGUAGES:
            self.fields[f"greeting_{code}"] = forms.CharField(
                label=str(LANGUAGE_LABELS[code]), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    @staticmethod
    def initial_for(kiosk: Kiosk) -> dict[str, object]:
        initial: dict[str, object] = {
            "name": kiosk.name, "venue_name": kiosk.venue.name, "location": kiosk.location, "languages": kiosk.languages,
            "default_language": kiosk.default_language, "avatar": kiosk.avatar_id, "enabled": kiosk.enabled}
        initial.update({f"greeting_{code}": text for code, text in (kiosk.greetings or {}).items()})
        return initial

    def greeting_fields(self) -> list[forms.BoundField]:
        return [self[f"greeting_{code}"] for code in KIOSK_LANGUAGES]

    def data_(self) -> KioskData:
        d = self.cleaned_data
        avatar = d.get("avatar")
        return KioskData(d["name"], d["venue_name"], d["location"], list(d["languages"]), d["default_language"],
                         {code: d[f"greeting_{code}"] for code in KIOSK_LANGUAGES}, avatar.pk if avatar else None,
                         d["enabled"])


@role_required(Role.ADMIN)
@require_GET
def kiosk_list_view(request: HttpRequest) -> HttpResponse:
    rows = [{"kiosk": kiosk, "state": kiosk_state(kiosk), "activity": kiosk_activity(kiosk),
             "service": kiosk_service(kiosk)}
            for kiosk in kiosk_status_list()]
    return render(request, "console/kiosks/list.html", {"rows": rows, "online_seconds": settings.KIOSK_ONLINE_SECONDS})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def kiosk_create_view(request: HttpRequest) -> HttpResponse:
    form = KioskForm(request.POST or None, initial={"languages": list(KIOSK_LANGUAGES), "default_language": "en",
                                                    "enabled": True})
    if request.method == "POST" and form.is_valid():
        try:
            kiosk = kiosk_create(data=form.data_(), user=request.user)
        except ApplicationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Kiosk created. Generate a pairing code to connect its screen."))
            return redirect("console:kiosk_edit", kiosk_id=kiosk.pk)
    return render(request, "console/kiosks/edit.html", {"form": form, "kiosk": None},
                  status=400 if request.method == "POST" else 200)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def kiosk_edit_view(request: HttpRequest, kiosk_id: int) -> HttpResponse:
    kiosk = get_object_or_404(Kiosk.objects.select_related("venue", "avatar"), pk=kiosk_id)
    form = KioskForm(request.POST or None, initial=KioskForm.initial_for(kiosk))
    if request.method == "POST" and form.is_valid():
        try:
            kiosk_update(kiosk=kiosk, data=form.data_(), user=request.user)
        except ApplicationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Kiosk saved."))
            return redirect("console:kiosk_edit", kiosk_id=kiosk.pk)
    with venue_zone(kiosk.venue):
        return render(request, "console/kiosks/edit.html", {"form": form, "kiosk": kiosk, "state": kiosk_state(kiosk)},
                      status=400 if request.method == "POST" else 200)


@role_required(Role.ADMIN)
@require_POST
def kiosk_pairing_view(request: HttpRequest, kiosk_id: int) -> HttpResponse:
    """Issue a code and show it this once (the response is not cached; the code is stored hashed)."""
    kiosk = get_object_or_404(Kiosk.objects.select_related("venue"), pk=kiosk_id)
    hours = 24 if request.POST.get("validity") == "24h" else 0
    ttl = timedelta(hours=hours) if hours else PAIRING_TTL
    code = kiosk_pairing_issue(kiosk=kiosk, user=request.user, ttl=ttl)
    link = request.build_absolute_uri(reverse("kiosk:pair") + f"?code={code}")
    with venue_zone(kiosk.venue):
        response = render(request, "console/kiosks/pairing.html", {"kiosk": kiosk, "code": code, "link": link,
                                                                   "expires_at": kiosk.pairing_expires_at})
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.ADMIN)
@require_POST
def kiosk_unpair_view(request: HttpRequest, kiosk_id: int) -> HttpResponse:
    kiosk = get_object_or_404(Kiosk, pk=kiosk_id)
    kiosk_unpair(kiosk=kiosk, user=request.user)
    messages.success(request, _("The kiosk's screen is unpaired; it needs a new pairing code to reconnect."))
    return redirect("console:kiosk_edit", kiosk_id=kiosk.pk)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def kiosk_delete_view(request: HttpRequest, kiosk_id: int) -> HttpResponse:
    """Confirm, then delete: the screen is disconnected as by unpairing, its transcripts stay."""
    kiosk = get_object_or_404(Kiosk, pk=kiosk_id)
    if request.method == "POST":
        kiosk_delete(kiosk=kiosk, user=request.user)
        messages.success(request, _("Kiosk “%(name)s” deleted; its screen is disconnected.") % {"name": kiosk.name})
        return redirect("console:kiosk_list")
    return render(request, "console/confirm.html", {
        "title": _("Delete the kiosk “%(name)s”?") % {"name": kiosk.name},
        "lines": [_("Its device token is revoked: a screen showing it is disconnected at once, as when unpairing."),
                  _("Its conversations keep their transcripts, no longer linked to a kiosk."),
                  _("This cannot be undone: to use the screen again, create a kiosk and pair it.")],
        "button": _("Delete the kiosk"), "cancel_url": reverse("console:kiosk_edit", args=[kiosk.pk]),
    })
