"""The audit log screen (admins, read-only)."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from adminconsole.paging import paginate
from audit.log import audit_action_codes, audit_list
from common.roles import Role, role_required


@role_required(Role.ADMIN)
def audit_list_view(request: HttpRequest) -> HttpResponse:
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    entries = audit_list(action=action or None, actor=actor or None).select_related(None)
    return render(request, "console/audit/list.html", {
        "listing": paginate(request, entries, per_page=50), "actions": audit_action_codes(),
        "action": action, "actor": actor,
    })
