"""Users (admins): who has which console role; deactivation."""
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from adminconsole.paging import paginate
from adminconsole.users import listed_role, user_list, user_update
from common.errors import ApplicationError
from common.roles import Role, role_required


@role_required(Role.ADMIN)
@require_GET
def user_list_view(request: HttpRequest) -> HttpResponse:
    listing = paginate(request, user_list(), per_page=50)
    rows = [{"user": user, "role": listed_role(user)} for user in listing.page]
    return render(request, "console/users/list.html", {"listing": listing, "rows": rows, "roles": list(Role)})


@role_required(Role.ADMIN)
@require_POST
def user_update_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    raw = request.POST.get("role", "")
    role = next((r for r in Role if r.group_name == raw), None)
    if raw and role is None:
        messages.error(request, _("Unknown role."))
        return redirect("console:user_list")
    try:
        user_update(user=user, role=role, active=request.POST.get("active") == "on", actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(user)s updated.") % {"user": user.get_username()})
    return redirect("console:user_list")
