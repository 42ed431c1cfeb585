"""Backend health in plain words: each check says what works and what customers notice, coloured
green, amber or red, with the workers' technical detail folded below (``health_words``)."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from adminconsole.health_words import health_in_words, overall_level
from avatar_runtime.selectors import backend_health_snapshot
from common.roles import Role, role_required


@require_GET
@role_required(Role.STAFF)
def health_view(request: HttpRequest) -> HttpResponse:
    workers = health_in_words(backend_health_snapshot())
    return render(request, "console/health.html", {"workers": workers, "level": overall_level(workers)})
