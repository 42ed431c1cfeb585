"""Console screens. Every view requires a console role."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from adminconsole.roles import Role, has_role, user_role
from adminconsole.selectors import console_overview


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, Role.STAFF):
        raise PermissionDenied
    role = user_role(request.user)
    return render(
        request,
        "console/home.html",
        {"overview": console_overview(), "role": role.name.title() if role else ""},
    )
