"""Authentication with failed-login throttling, for every door that checks a password.

The backend covers the console login form, the Django admin and the REST API's Basic
authentication alike; the console's login form asks the throttle first so that a locked-out
user reads why instead of "wrong password".
"""
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.client_address import client_address
from common.ratelimit import login_failure_record, login_failures_clear, login_throttle


class ThrottledModelBackend(ModelBackend):
    def authenticate(  # type: ignore[override]  # ModelBackend's own signature, which django-stubs narrows
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        name = username if username is not None else str(kwargs.get("username", ""))
        address = client_address(request)
        if login_throttle(username=name, address=address).locked:
            raise PermissionDenied("too many failed logins")  # stops every backend, not just this one
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(username=name, address=address)
        else:
            login_failures_clear(username=name, address=address)
        return user


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        throttle = login_throttle(username=username, address=client_address(self.request))
        if throttle.locked:
            minutes = max(1, round(throttle.retry_after / 60))
            raise ValidationError(
                ngettext("Too many failed logins. Try again in %(minutes)d minute.",
                         "Too many failed logins. Try again in %(minutes)d minutes.", minutes) % {"minutes": minutes},
                code="login_rate_limited",
            )
        try:
            return super().clean()
        except ValidationError:
            if login_throttle(username=username, address=client_address(self.request)).locked:
                raise ValidationError(_("Too many failed logins. Try again later."), code="login_rate_limited") from None
            raise
