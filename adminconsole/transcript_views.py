"""Transcript screens: the filtered list, a conversation, its clips, the CSV export, the access log.

Supervisors and admins only (staff get 403). Every view of a conversation, a clip or an export
is recorded in the access log (``conversations.transcript_access``).
"""
import mimetypes
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from adminconsole.time_zones import venue_zone
from adminconsole.transcript_selectors import (
    OUTCOMES,
    TranscriptFilters,
    access_conversation,
    access_transcripts,
    access_turn_clip,
    conversation_list,
    conversation_turns,
    transcripts_csv,
)
from common.errors import ApplicationError, NotFound
from common.errors import PermissionDenied as DomainPermissionDenied
from common.languages import LANGUAGE_CHOICES
from common.roles import Role, has_role, user_role
from conversations.models import TranscriptAccess
from conversations.transcript_access import transcript_access_list, transcript_access_record
from kiosk.models import Kiosk

PAGE_SIZE = 25
ACCESS_PAGE_SIZE = 50
View = Callable[..., HttpResponseBase]


def console_view(view: View) -> View:
    """Log-in required; domain errors become 403/404 (or a 400 page naming the error)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except DomainPermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            return render(request, "console/transcripts/error.html", {"error": exc, **role_context(request)},
                          status=exc.status)

    return wrapper


def role_context(request: HttpRequest) -> dict[str, object]:
    role = user_role(request.user)
    return {"role": role.name.title() if role else ""}


_YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


class TranscriptFilterForm(forms.Form):
    kiosk = forms.ModelChoiceField(queryset=Kiosk.objects.select_related("venue").order_by("name"), required=False,
                                   label=_("Kiosk"), empty_label=_("All kiosks"))
    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    language = forms.ChoiceField(choices=[("", _("All languages")), *LANGUAGE_CHOICES], required=False,
                                 label=_("Language"))
    outcome = forms.ChoiceField(choices=[("", _("Any")), ("answered", _("Answered")), ("declined", _("Declined"))],
                                required=False, label=_("Outcome"))
    interrupted = forms.ChoiceField(choices=_YES_NO, required=False, label=_("Interrupted"))
    handoff = forms.ChoiceField(choices=_YES_NO, required=False, label=_("Hand-off requested"))
    qa_below = forms.FloatField(required=False, min_value=0.0, max_value=20.0, label=_("QA score below"))
    qa_flagged = forms.ChoiceField(choices=_YES_NO, required=False, label=_("Lip sync under threshold"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."), code="date_range")
        return data

    def filters(self) -> TranscriptFilters:
        data = self.cleaned_data
        kiosk = data.get("kiosk")
        return TranscriptFilters(
            kiosk_id=kiosk.pk if kiosk else None, date_from=data.get("date_from"), date_to=data.get("date_to"),
            language=data.get("language") or None, outcome=data.get("outcome") or None,
            interrupted=_yes_no(data.get("interrupted")), handoff=_yes_no(data.get("handoff")),
            qa_below=data.get("qa_below"), qa_flagged=_yes_no(data.get("qa_flagged")))


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _filters_or_error(request: HttpRequest) -> tuple[TranscriptFilterForm, TranscriptFilters]:
    form = TranscriptFilterForm(request.GET)
    if not form.is_valid():
        messages = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        raise ApplicationError("transcript_filter_invalid", messages)
    return form, form.filters()


@require_GET
@console_view
def transcript_list(request: HttpRequest) -> HttpResponse:
    access_transcripts(request.user)
    form = TranscriptFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else TranscriptFilters()
    query = request.GET.copy()
    query.pop("page", None)
    kiosk = form.cleaned_data.get("kiosk") if form.is_bound and form.is_valid() else None
    with venue_zone(kiosk.venue if kiosk else None):  # one kiosk's dates are its venue's days
        page = Paginator(conversation_list(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "console/transcripts/list.html", {
            "form": form, "page": page, "query": query.urlencode(), "outcomes": OUTCOMES, **role_context(request),
        })


@require_GET
@console_view
def transcript_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    conversation = access_conversation(request.user, public_id)
    turns = conversation_turns(conversation=conversation)
    transcript_access_record(user=request.user, action=TranscriptAccess.Action.VIEW, conversation_id=public_id,
                             detail={"channel": "console"})
    with venue_zone(conversation.kiosk.venue if conversation.kiosk else None):
        return render(request, "console/transcripts/detail.html",
                      {"conversation": conversation, "turns": turns, **role_context(request)})


@require_GET
@console_view
def transcript_clip(request: HttpRequest, turn_id: uuid.UUID, kind: str) -> FileResponse:
    return turn_clip_response(request, turn_id, kind)


def turn_clip_response(request: HttpRequest, turn_id: uuid.UUID, kind: str) -> FileResponse:
    """A turn's clip, for every screen that plays one: access checked and logged, never cached."""
    turn, clip = access_turn_clip(request.user, turn_id, kind)
    try:
        handle = clip.open("rb")
    except OSError as exc:
        raise NotFound("clip_missing", str(_("The clip's file is missing from storage."))) from exc
    transcript_access_record(user=request.user, action=TranscriptAccess.Action.CLIP,
                             conversation_id=turn.conversation.public_id, turn_id=turn_id,
                             detail={"kind": kind, "channel": "console"})
    content_type = mimetypes.guess_type(clip.name or "")[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@console_view
def transcript_export(request: HttpRequest) -> StreamingHttpResponse:
    access_transcripts(request.user)
    _form, filters = _filters_or_error(request)
    conversations = conversation_list(filters=filters).count()
    transcript_access_record(user=request.user, action=TranscriptAccess.Action.EXPORT,
                             detail={"filters": filters.as_dict(), "conversations": conversations, "channel": "console"})
    response = StreamingHttpResponse(transcripts_csv(filters=filters), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="transcripts-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@console_view
def transcript_access_log(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, Role.ADMIN):
        raise DjangoPermissionDenied
    username = request.GET.get("user") or None
    page = Paginator(transcript_access_list(username=username), ACCESS_PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({"user": username}) if username else ""
    return render(request, "console/transcripts/access_log.html",
                  {"page": page, "username": username or "", "query": query, **role_context(request)})
