"""Backend health: what each avatar worker reports for each stage (healthy, degraded, down)."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from avatar_runtime.selectors import backend_health_snapshot
from common.roles import Role, role_required


@require_GET
@role_required(Role.STAFF)
def health_view(request: HttpRequest) -> HttpResponse:
    return render(request, "console/health.html", {"workers": backend_health_snapshot()})
