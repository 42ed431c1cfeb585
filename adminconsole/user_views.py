"""Users (admins): invitations, who has which console role, deactivation, password links."""

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminconsole.account_forms import UserInviteForm
from adminconsole.paging import paginate
from adminconsole.password_links import LinkKind, site_base_url
from adminconsole.users import listed_role, user_invite, user_list, user_password_link_send, user_update
from common.errors import ApplicationError
from common.roles import Role, role_required


@role_required(Role.ADMIN)
@require_GET
def user_list_view(request: HttpRequest) -> HttpResponse:
    listing = paginate(request, user_list(), per_page=50)
    rows = [{"user": user, "role": listed_role(user)} for user in listing.page]
    return render(request, "console/users/list.html", {"listing": listing, "rows": rows, "roles": list(Role)})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def user_invite_view(request: HttpRequest) -> HttpResponse:
    form = UserInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_invite(
                username=form.cleaned_data["username"], email=form.cleaned_data["email"], role=form.role_(), actor=request.user
            )
        except ApplicationError as exc:
            errors = exc.extra.get("errors")
            for name, message in errors.items() if isinstance(errors, dict) else [(None, exc.message)]:
                form.add_error(name, message)
        else:
            _password_link_send(
                request, user, LinkKind.INVITE, _("%(user)s invited: a link to choose a password was mailed to %(email)s.")
            )
            return redirect("console:user_list")
    return render(request, "console/users/invite.html", {"form": form})


@role_required(Role.ADMIN)
@require_POST
def user_password_link_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    kind = LinkKind.RESET if user.has_usable_password() else LinkKind.INVITE
    _password_link_send(request, user, kind, _("A link to choose a new password was mailed to %(email)s."))
    return redirect("console:user_list")


def _password_link_send(request: HttpRequest, user: User, kind: LinkKind, success: str) -> None:
    try:
        user_password_link_send(user=user, kind=kind, base_url=site_base_url(request), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success % {"user": user.get_username(), "email": user.email})


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
