"""Lip-sync QA screens (supervisors and admins): confidence chart and summaries, flags, answer clips."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from adminconsole.qa_chart import confidence_chart
from adminconsole.qa_selectors import access_turn_answer_clip, qa_flag_list, qa_overview
from adminconsole.transcript_views import console_view, turn_clip_response
from common import errors
from common.roles import Role, has_role, user_role
from lipsync.services import qa_flag_acknowledge


def _supervisor(request: HttpRequest) -> str:
    if not has_role(request.user, Role.SUPERVISOR):
        raise PermissionDenied
    role = user_role(request.user)
    return role.name.title() if role else ""


def _bad_request(request: HttpRequest, error: errors.ApplicationError, role: str) -> HttpResponse:
    return render(request, "console/qa/error.html", {"error": error, "role": role}, status=error.status)


@login_required
@require_GET
def qa_overview_view(request: HttpRequest) -> HttpResponse:
    role = _supervisor(request)
    try:
        days = int(request.GET.get("days", "14"))
    except ValueError:
        return _bad_request(request, errors.ApplicationError("qa_bad_days", _("Days must be a whole number.")), role)
    try:
        overview = qa_overview(group_by=request.GET.get("by", "avatar"), scorer=request.GET.get("scorer") or None, days=days)
    except errors.ApplicationError as exc:
        return _bad_request(request, exc, role)
    chart = confidence_chart(overview.series, since=overview.since, until=overview.until, threshold=overview.threshold)
    return render(request, "console/qa/overview.html", {"overview": overview, "chart": chart, "role": role})


@login_required
@require_GET
def qa_flags_view(request: HttpRequest) -> HttpResponse:
    role = _supervisor(request)
    status = request.GET.get("status", "open")
    try:
        flags = list(qa_flag_list(status=status)[:200])
    except errors.ApplicationError as exc:
        return _bad_request(request, exc, role)
    return render(request, "console/qa/flags.html", {"flags": flags, "status": status, "role": role})


@login_required
@require_POST
def qa_flag_acknowledge_view(request: HttpRequest, flag_id: int) -> HttpResponse:
    role = _supervisor(request)
    try:
        flag = qa_flag_acknowledge(flag_id=flag_id, user=request.user, note=request.POST.get("note", ""))  # type: ignore[arg-type]
    except errors.ApplicationError as exc:
        return _bad_request(request, exc, role)
    messages.success(request, _("Acknowledged: %(flag)s") % {"flag": flag})
    return redirect("console:qa_flags")


@require_GET
@console_view
def qa_turn_clip_view(request: HttpRequest, turn_id: int) -> FileResponse:
    """The answer clip of a flagged turn, served (and logged) as the transcript screens serve it."""
    turn = access_turn_answer_clip(request.user, turn_id)
    return turn_clip_response(request, turn.public_id, "answer")
