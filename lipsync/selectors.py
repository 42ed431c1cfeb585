"""Reads for lip-sync QA: thresholds, rolling summaries, and the QA column/filter of transcripts."""
import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, Count, Exists, F, Func, OuterRef, Q, QuerySet

from conversations.models import Turn
from lipsync.models import QaFlag, TurnQaScore


def qa_confidence_threshold(scorer: str) -> float:
    """Below this confidence a clip's lips and audio are judged not to belong together (per scorer)."""
    thresholds: dict[str, float] = settings.QA_CONFIDENCE_THRESHOLDS
    return thresholds.get(scorer, thresholds["embedded"])


@dataclass(frozen=True)
class QaSummary:
    subject: str  # QaFlag.Subject
    key: str
    scorer: str
    count: int
    mean_confidence: float | None
    mean_abs_offset: float | None


def qa_rolling_summary(*, subject: str, key: str, scorer: str, window: int | None = None,
                       since: datetime.datetime | None = None) -> QaSummary:
    """The last ``window`` successful scores of an avatar (``key`` = its id) or a voice, by one scorer."""
    scores = TurnQaScore.objects.filter(scorer=scorer, error_code="", confidence__isnull=False)
    scores = scores.filter(avatar_id=int(key)) if subject == QaFlag.Subject.AVATAR else scores.filter(voice=key)
    if since is not None:
        scores = scores.filter(scored_at__gt=since)
    newest = scores.order_by("-scored_at", "-id").values_list("confidence", "offset_frames")
    rows = list(newest[: window or settings.QA_ROLLING_WINDOW])
    if not rows:
        return QaSummary(subject, key, scorer, 0, None, None)
    return QaSummary(
        subject, key, scorer, len(rows),
        mean_confidence=round(sum(float(c or 0.0) for c, _ in rows) / len(rows), 4),
        mean_abs_offset=round(sum(abs(o or 0) for _, o in rows) / len(rows), 3),
    )


def qa_score_for_turns(turn_ids: Iterable[int]) -> dict[int, TurnQaScore]:
    """Per turn id, its lip-sync score for a transcripts list's QA column (turns never scored are absent).

    A successful score wins over a failed attempt; among equals, the newest.
    """
    best: dict[int, TurnQaScore] = {}
    for score in TurnQaScore.objects.filter(turn_id__in=list(turn_ids)).order_by("scored_at", "id"):
        held = best.get(score.turn_id)
        if held is None or not (score.error_code and not held.error_code):
            best[score.turn_id] = score
    return best


def turns_with_qa_below(threshold: float | None = None, *, scorer: str | None = None) -> QuerySet[Turn]:
    """Turns with a lip-sync confidence under ``threshold`` (default: each scorer's own threshold)."""
    scores = TurnQaScore.objects.filter(turn=OuterRef("pk"), error_code="", confidence__isnull=False)
    if scorer is not None:
        scores = scores.filter(scorer=scorer)
    if threshold is not None:
        scores = scores.filter(confidence__lt=threshold)
    else:
        below = Q()
        for name, limit in settings.QA_CONFIDENCE_THRESHOLDS.items():
            below |= Q(scorer=name, confidence__lt=limit)
        scores = scores.filter(below)
    return Turn.objects.filter(Exists(scores))


@dataclass(frozen=True)
class QaRecent:
    scorer: str
    scored: int
    failed: int  # clips that could not be scored
    mean_confidence: float | None
    mean_abs_offset: float | None


def qa_recent_by_scorer(*, since: datetime.datetime) -> list[QaRecent]:
    """Per scorer, the clips scored since ``since`` (for the metrics endpoint)."""
    rows = (TurnQaScore.objects.filter(scored_at__gt=since).order_by().values("scorer")
            .annotate(scored=Count("id", filter=Q(error_code="")), failed=Count("id", filter=~Q(error_code="")),
                      mean_confidence=Avg("confidence", filter=Q(error_code="")),
                      mean_abs_offset=Avg(Func(F("offset_frames"), function="ABS"), filter=Q(error_code=""))))
    return [QaRecent(row["scorer"], row["scored"], row["failed"], row["mean_confidence"], row["mean_abs_offset"])
            for row in rows]


def qa_flags_open_by_subject() -> dict[str, int]:
    """Flags not yet acknowledged, per subject (avatar, voice)."""
    rows = QaFlag.objects.filter(acknowledged_at__isnull=True).order_by().values("subject").annotate(n=Count("id"))
    return {row["subject"]: row["n"] for row in rows}
