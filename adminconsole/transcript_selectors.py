"""Reads behind the transcript screens and the transcript API (supervisors and above).

Every fetch that returns conversation content checks the role here (``access_*``), so the
console views, the CSV export and the REST API share one rule: staff never read transcripts.
"""
import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.files import FieldFile
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from common.errors import ApplicationError, NotFound, PermissionDenied
from common.roles import Role, has_role
from common.timezones import zone
from conversations.models import Conversation, Turn
from knowledgebase.importing import escape_formula
from lipsync.models import TurnQaScore
from lipsync.selectors import qa_score_for_turns, turns_with_qa_below

OUTCOMES = ("answered", "declined")
CLIP_KINDS = ("audio", "answer")

@dataclass(frozen=True)
class TranscriptFilters:
    kiosk_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    language: str | None = None
    outcome: str | None = None  # "answered": every answer came from the knowledge base; "declined": one did not
    interrupted: bool | None = None
    handoff: bool | None = None
    qa_below: float | None = None  # a lip-sync score under this confidence (the scorer's own scale)
    qa_flagged: bool | None = None  # a turn scored under its scorer's threshold

    def as_dict(self) -> dict[str, object]:
        """The filters that are set, JSON-ready (for the access log and export file names)."""
        return {name: value.isoformat() if isinstance(value, date) else value
                for name, value in self.__dict__.items() if value is not None}


def access_transcripts(user: AbstractBaseUser | AnonymousUser) -> None:
    """Raise unless ``user`` may read conversation records (supervisor or admin)."""
    if not has_role(user, Role.SUPERVISOR):
        raise PermissionDenied("transcripts_forbidden", _("Only supervisors and admins may read transcripts."))


def _turns(**conditions: object) -> QuerySet[Turn]:
    return Turn.objects.filter(conversation=OuterRef("pk"), **conditions)


def conversation_list(*, filters: TranscriptFilters) -> QuerySet[Conversation]:
    """Conversations matching ``filters``, newest first, each annotated with its turn counts and first question.

    One query per page whatever the page size (plus one count for the paginator).
    """
    conversations: QuerySet[Conversation] = Conversation.objects.select_related("kiosk__venue").annotate(
        turn_count=Count("turns"),
        answered_count=Count("turns", filter=Q(turns__role=Turn.Role.AVATAR, turns__answerable=True)),
        declined_count=Count("turns", filter=Q(turns__role=Turn.Role.AVATAR, turns__answerable=False)),
        interrupted_count=Count("turns", filter=Q(turns__interrupted=True)),
        first_question=Subquery(_turns(role=Turn.Role.CUSTOMER).order_by("index").values("text")[:1]),
        qa_min_confidence=Subquery(
            TurnQaScore.objects.filter(turn__conversation=OuterRef("pk"), error_code="")
            .order_by("confidence").values("confidence")[:1]),
    )
    if filters.kiosk_id is not None:
        conversations = conversations.filter(kiosk_id=filters.kiosk_id)
    if filters.date_from is not None:
        conversations = conversations.filter(started_at__date__gte=filters.date_from)
    if filters.date_to is not None:
        conversations = conversations.filter(started_at__date__lte=filters.date_to)
    if filters.language:
        conversations = conversations.filter(Exists(_turns(language=filters.language)))
    declined = Exists(_turns(role=Turn.Role.AVATAR, answerable=False))
    if filters.outcome == "declined":
        conversations = conversations.filter(declined)
    elif filters.outcome == "answered":
        conversations = conversations.filter(Exists(_turns(role=Turn.Role.AVATAR, answerable=True)), ~declined)
    elif filters.outcome is not None:
        raise ApplicationError("transcript_filter_invalid", _("Outcome must be answered or declined."))
    if filters.interrupted is not None:
        interrupted = Exists(_turns(interrupted=True))
        conversations = conversations.filter(interrupted if filters.interrupted else ~interrupted)
    if filters.handoff is not None:
        conversations = conversations.filter(handoff_requested=filters.handoff)
    if filters.qa_below is not None:
        conversations = conversations.filter(
            Exists(turns_with_qa_below(filters.qa_below).filter(conversation=OuterRef("pk"))))
    if filters.qa_flagged is not None:
        flagged = Exists(turns_with_qa_below().filter(conversation=OuterRef("pk")))
        conversations = conversations.filter(flagged if filters.qa_flagged else ~flagged)
    return conversations.order_by("-started_at", "-id")


def access_conversation(user: AbstractBaseUser | AnonymousUser, public_id: uuid.UUID) -> Conversation:
    access_transcripts(user)
    conversation = Conversation.objects.select_related("kiosk", "kiosk__venue").filter(public_id=public_id).first()
    if conversation is None:
        raise NotFound("conversation_not_found", _("No such conversation (it may have been purged)."))
    return conversation


@dataclass(frozen=True)
class TurnView:
    """A turn as the review screens show it."""

    turn: Turn
    unanswered: bool  # a customer question the avatar could not answer from the knowledge base
    faq_create_url: str | None  # opens the FAQ editor prefilled with this question
    qa: TurnQaScore | None = None  # the lip-sync score of the answer clip, where one was scored


def faq_create_url(question: str, language: str) -> str | None:
    """The console FAQ editor, prefilled with ``question`` in ``language``; None where no editor is installed."""
    try:
        base = reverse("console:faq_create")
    except NoReverseMatch:
        return None
    return f"{base}?{urlencode({'question': question, 'language': language})}"


def conversation_turns(*, conversation: Conversation) -> list[TurnView]:
    turns = list(conversation.turns.order_by("index"))
    scores = qa_score_for_turns(turn.pk for turn in turns)
    views = []
    for position, turn in enumerate(turns):
        answer = turns[position + 1] if position + 1 < len(turns) else None
        unanswered = (turn.role == Turn.Role.CUSTOMER and answer is not None and answer.role == Turn.Role.AVATAR
                      and answer.answerable is False)
        url = faq_create_url(turn.text, turn.language) if unanswered and turn.text else None
        views.append(TurnView(turn, unanswered, url, scores.get(turn.pk)))
    return views


def access_turn_clip(user: AbstractBaseUser | AnonymousUser, turn_id: uuid.UUID, kind: str) -> tuple[Turn, FieldFile]:
    """The customer's recording (``audio``) or the avatar's answer (``answer``) of a turn."""
    access_transcripts(user)
    if kind not in CLIP_KINDS:
        raise NotFound("clip_not_found", _("No such clip."))
    turn = Turn.objects.select_related("conversation").filter(public_id=turn_id).first()
    clip = None if turn is None else (turn.audio_clip if kind == "audio" else turn.answer_clip)
    if turn is None or clip is None or not clip.name:
        raise NotFound("clip_not_found", _("This turn has no such clip."))
    return turn, clip


EXPORT_COLUMNS = ("conversation", "started_at", "kiosk", "turn", "role", "language", "text", "heard_text",
                  "asr_confidence", "answerable", "interrupted", "retrieved", "handoff_requested")


def _export_rows(filters: TranscriptFilters) -> Iterator[list[str]]:
    ids = conversation_list(filters=filters).values("id")
    turns = (Turn.objects.filter(conversation_id__in=Subquery(ids)).select_related("conversation__kiosk__venue")
             .order_by("-conversation__started_at", "conversation_id", "index"))
    for turn in turns.iterator(chunk_size=500):
        conversation = turn.conversation
        retrieved = ";".join(f"{hit.get('key')}:{hit.get('score')}" for hit in turn.retrieved if isinstance(hit, dict))
        started = conversation.started_at
        if conversation.kiosk is not None:  # the venue's local time, with its offset; UTC when the kiosk is gone
            started = timezone.localtime(started, zone(conversation.kiosk.venue.time_zone))
        yield [str(conversation.public_id), started.isoformat(),
               conversation.kiosk.name if conversation.kiosk else "", str(turn.index), turn.role, turn.language,
               turn.text, turn.heard_text if turn.interrupted else "",
               "" if turn.asr_confidence is None else f"{turn.asr_confidence:.3f}",
               "" if turn.answerable is None else str(turn.answerable).lower(), str(turn.interrupted).lower(),
               retrieved, str(conversation.handoff_requested).lower()]


def transcripts_csv(*, filters: TranscriptFilters) -> Iterator[bytes]:
    """The filtered conversations' turns as CSV, one turn a row, streamed in UTF-8 with a BOM.

    Cells a spreadsheet would run as a formula get an apostrophe in front (as FAQ exports do).
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(EXPORT_COLUMNS)
    yield ("\ufeff" + flush()).encode()
    for row in _export_rows(filters):
        writer.writerow([escape_formula(cell) for cell in row])
        yield flush().encode()
