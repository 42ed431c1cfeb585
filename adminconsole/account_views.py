"""A user's own password: "forgot password", the mailed one-time link, and changing it while logged in.

The first two are open to anyone (and throttled, see :mod:`adminconsole.password_links`); the
third to every logged-in user, whatever their role, and keeps their session.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from adminconsole.account_forms import LinkSetPasswordForm, OwnPasswordChangeForm, PasswordForgotForm
from adminconsole.password_links import (
    password_forgot_request,
    password_link_failure_record,
    password_link_throttled,
    password_link_tokens,
    site_base_url,
)
from common.client_address import client_address
from common.errors import ApplicationError


@require_http_methods(["GET", "POST"])
def password_forgot_view(request: HttpRequest) -> HttpResponse:
    form = PasswordForgotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_forgot_request(
                email=form.cleaned_data["email"], address=client_address(request), base_url=site_base_url(request)
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return render(request, "console/account/password_forgot.html", {"form": form}, status=exc.status)
        return redirect("console:password_forgot_sent")
    return render(request, "console/account/password_forgot.html", {"form": form})


@require_GET
def password_forgot_sent_view(request: HttpRequest) -> HttpResponse:
    return render(request, "console/account/password_forgot_sent.html")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Opens a mailed link (invitation or reset) and sets the password; a link works once."""

    template_name = "console/account/password_set.html"
    form_class = LinkSetPasswordForm
    token_generator = password_link_tokens
    success_url = reverse_lazy("console:login")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        address = client_address(request)
        if password_link_throttled(address=address):
            message = _("Too many invalid links were opened from your address. Try again later.")
            return render(request, "console/account/password_set.html", {"validlink": False, "throttled": message}, status=429)
        response = super().dispatch(request, *args, **kwargs)
        if not self.validlink:
            password_link_failure_record(address=address)
        return response

    def get_user(self, uidb64: str) -> User | None:
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form: LinkSetPasswordForm) -> HttpResponse:
        messages.success(self.request, _("Your password is set. Log in with it."))
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "console/account/password_change.html"
    form_class = OwnPasswordChangeForm
    success_url = reverse_lazy("console:password_change")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "address": client_address(self.request)}

    def form_valid(self, form: OwnPasswordChangeForm) -> HttpResponse:
        messages.success(self.request, _("Your password is changed."))
        return super().form_valid(form)
