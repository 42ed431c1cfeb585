"""Aggregates behind the supervisors' dashboard, computed in the database.

Nothing here loads turns into Python: each figure is one grouped query, and each latency
percentile one ordered ``LIMIT 1 OFFSET k`` query over the stage's timing (exact nearest-rank
percentiles on SQLite and PostgreSQL alike), so the query count is fixed by the number of stages,
not by the number of conversations.
"""
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, FloatField, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower, Trim, TruncDate
from django.utils import timezone

from conversations.models import Conversation, HandoffRequest, Turn

# Stages of ``Turn.timings`` (milliseconds), in pipeline order; the avatar's turn holds the whole turn's timings.
STAGES = ("endpointing", "asr", "retrieval", "answer_first_text", "tts_first_audio", "first_frame", "end_to_end")
PERCENTILES = (50, 90, 95)
TOP_UNANSWERED = 10
PERIODS = (7, 30, 90)


@dataclass(frozen=True)
class DayCount:
    day: date
    conversations: int
    handoffs: int


@dataclass(frozen=True)
class UnansweredQuestion:
    text: str
    language: str
    count: int


@dataclass(frozen=True)
class StageLatency:
    stage: str
    samples: int
    percentiles: dict[int, float]  # percentile -> milliseconds


@dataclass
class DashboardData:
    since: date
    until: date
    days: list[DayCount]
    languages: dict[str, int]  # language -> conversations with a customer turn in it
    answered: int
    declined: int
    unanswered: list[UnansweredQuestion]
    latencies: list[StageLatency] = field(default_factory=list)

    @property
    def conversations(self) -> int:
        return sum(day.conversations for day in self.days)

    @property
    def handoffs(self) -> int:
        return sum(day.handoffs for day in self.days)

    @property
    def answer_rate(self) -> float | None:
        total = self.answered + self.declined
        return self.answered / total if total else None


def _per_day(rows: QuerySet[Any], since: date, until: date, key: str) -> dict[date, int]:
    counts = {row["day"]: row["n"] for row in rows.annotate(day=TruncDate(key)).values("day").annotate(n=Count("id"))}
    return {since + timedelta(days=i): counts.get(since + timedelta(days=i), 0) for i in range((until - since).days + 1)}


def _stage_value(stage: str) -> Cast:
    return Cast(KT(f"timings__{stage}"), FloatField())


def stage_latencies(turns: QuerySet[Turn]) -> list[StageLatency]:
    """Nearest-rank p50/p90/p95 of each stage's timing over ``turns`` (one count query, one query per percentile)."""
    counts = turns.aggregate(**{stage: Count(_stage_value(stage)) for stage in STAGES})
    latencies = []
    for stage in STAGES:
        samples = counts[stage] or 0
        if not samples:
            continue
        ordered = turns.annotate(value=_stage_value(stage)).filter(value__isnull=False).order_by("value")
        values = {}
        for p in PERCENTILES:
            offset = max(math.ceil(p / 100 * samples) - 1, 0)
            values[p] = float(ordered.values_list("value", flat=True)[offset])
        latencies.append(StageLatency(stage, samples, values))
    return latencies


def unanswered_questions(customer_turns: QuerySet[Turn], limit: int = TOP_UNANSWERED) -> list[UnansweredQuestion]:
    """The customer questions the avatar most often declined (case and outer spaces ignored)."""
    declined_next = Turn.objects.filter(conversation_id=OuterRef("conversation_id"), index=OuterRef("index") + 1,
                                        role=Turn.Role.AVATAR, answerable=False)
    rows = (customer_turns.filter(Exists(declined_next)).exclude(text="")
            .annotate(question=Lower(Trim("text"))).values("question", "language")
            .annotate(n=Count("id")).order_by("-n", "question")[:limit])
    return [UnansweredQuestion(row["question"], row["language"], row["n"]) for row in rows]


def dashboard_data(*, days: int = 30, kiosk_id: int | None = None, now: datetime | None = None) -> DashboardData:
    """The dashboard over the last ``days`` days (today included), optionally for one kiosk."""
    today = timezone.localdate(now or timezone.now())
    since = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(since, datetime.min.time()))
    conversations = Conversation.objects.filter(started_at__gte=start)
    handoffs = HandoffRequest.objects.filter(created_at__gte=start)
    turns = Turn.objects.filter(conversation__started_at__gte=start)
    if kiosk_id is not None:
        conversations = conversations.filter(kiosk_id=kiosk_id)
        handoffs = handoffs.filter(conversation__kiosk_id=kiosk_id)
        turns = turns.filter(conversation__kiosk_id=kiosk_id)
    per_day = _per_day(conversations, since, today, "started_at")
    handoffs_per_day = _per_day(handoffs, since, today, "created_at")
    customer = turns.filter(role=Turn.Role.CUSTOMER)
    avatar = turns.filter(role=Turn.Role.AVATAR)
    languages = {row["language"]: row["n"] for row in customer.exclude(language="").values("language")
                 .annotate(n=Count("conversation_id", distinct=True)).order_by("-n", "language")}
    outcome = avatar.aggregate(answered=Count("id", filter=Q(answerable=True)),
                               declined=Count("id", filter=Q(answerable=False)))
    return DashboardData(
        since=since, until=today,
        days=[DayCount(day, per_day[day], handoffs_per_day[day]) for day in per_day],
        languages=languages, answered=outcome["answered"], declined=outcome["declined"],
        unanswered=unanswered_questions(customer), latencies=stage_latencies(avatar),
    )
