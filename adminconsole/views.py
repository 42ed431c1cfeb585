"""Console overview. Every console view is wrapped in ``role_required``."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from adminconsole.selectors import console_overview
from common.roles import Role, role_required


@role_required(Role.STAFF)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html", {"overview": console_overview()})
