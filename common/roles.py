"""Console roles as Django groups: staff < supervisor < admin.

Each role includes the ones below it. Views, APIs and querysets ask ``has_role``; Django
superusers count as admins.
"""
from collections.abc import Callable
from enum import IntEnum
from functools import wraps
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from common import errors

ViewFunc = Callable[..., HttpResponseBase]
_UNSET = object()


class Role(IntEnum):
    STAFF = 1
    SUPERVISOR = 2
    ADMIN = 3

    @property
    def group_name(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        """The role's name in the reader's language."""
        return str(_LABELS[self])


_LABELS = {Role.STAFF: gettext_lazy("Staff"), Role.SUPERVISOR: gettext_lazy("Supervisor"), Role.ADMIN: gettext_lazy("Admin")}


def roles_ensure_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.group_name)


def user_role(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    names = set(Group.objects.filter(user__pk=user.pk).values_list("name", flat=True))
    held = [role for role in Role if role.group_name in names]
    return max(held) if held else None


def has_role(user: AbstractBaseUser | AnonymousUser, role: Role) -> bool:
    held = user_role(user)
    return held is not None and held >= role


def request_role(request: HttpRequest) -> Role | None:
    """The role of the request's user, looked up once per request."""
    cached = getattr(request, "_console_role", _UNSET)
    if cached is _UNSET:
        cached = user_role(request.user)
        request._console_role = cached  # type: ignore[attr-defined]
    return cast(Role | None, cached)


def role_required(role: Role) -> Callable[[ViewFunc], ViewFunc]:
    """View decorator: anonymous users go to the login page; a logged-in user below ``role`` gets 403.

    A 403 (not a redirect) for logged-in users, so a staff member following a supervisor's link
    sees why instead of bouncing between the login page and the view.
    """

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            held = request_role(request)
            if held is None or held < role:
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except errors.NotFound as exc:
                raise Http404(exc.message) from exc
            except errors.PermissionDenied as exc:
                raise PermissionDenied(exc.message) from exc
            except errors.ApplicationError as exc:
                # The console's boundary for domain errors no form caught: say what went wrong.
                return render(request, "console/error.html", {"error": exc}, status=exc.status)

        wrapped.required_role = role  # type: ignore[attr-defined]
        return wrapped

    return decorator
