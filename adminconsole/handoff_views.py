"""The hand-off desk (staff and up): customers' calls for help, live, and what staff do about them.

The page lists what is pending with each kiosk's place and the conversation so far; its script
(``static/console/handoff.js``) reloads the list when the desk's WebSocket announces a change.
Actions are plain POST forms: accept, resolve, or nobody available.
"""
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.errors import MAX_ID, ApplicationError
from common.roles import Role, role_required
from conversations.handoff_desk import handoff_accept, handoff_nobody_available, handoff_resolve
from conversations.models import HandoffRequest
from conversations.selectors import conversation_history, handoff_pending_list, handoff_recently_closed

CONVERSATION_TURNS = 12  # the last turns shown with each request


@dataclass(frozen=True)
class DeskRow:
    handoff: HandoffRequest
    turns: list[tuple[str, str]]


def _rows() -> list[DeskRow]:
    return [DeskRow(handoff, conversation_history(public_id=handoff.conversation.public_id, limit=CONVERSATION_TURNS))
            for handoff in handoff_pending_list()]


@role_required(Role.STAFF)
@require_GET
def handoff_desk_view(request: HttpRequest) -> HttpResponse:
    """The desk; only its list of pending requests when the page's script asks for it."""
    context = {"rows": _rows()}
    if request.headers.get("X-Console-Fragment") == "1":
        return render(request, "console/handoffs/_pending.html", context)
    return render(request, "console/handoffs/desk.html", {**context, "closed": handoff_recently_closed()})


Action = Callable[..., HandoffRequest]
_DONE = {
    "accept": lambda: _("Accepted: the kiosk tells the customer that someone is coming."),
    "resolve": lambda: _("Marked resolved."),
    "unavailable": lambda: _("Marked nobody available: the kiosk tells the customer to ask at the service desk."),
}
_ACTIONS: dict[str, Action] = {
    "accept": handoff_accept, "resolve": handoff_resolve, "unavailable": handoff_nobody_available}


@role_required(Role.STAFF)
@require_POST
def handoff_action_view(request: HttpRequest, handoff_id: int, action: str) -> HttpResponse:
    service = _ACTIONS.get(action)
    if service is None or handoff_id > MAX_ID:
        raise Http404
    try:
        service(handoff_id=handoff_id, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _DONE[action]())
    return redirect("console:handoff_desk")
