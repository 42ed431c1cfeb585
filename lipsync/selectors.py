"""Reads for lip-sync QA: thresholds, rolling summaries, and the QA column/filter of transcripts."""
import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

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
