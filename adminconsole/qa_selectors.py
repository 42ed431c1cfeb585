"""Reads behind the lip-sync QA screens: confidence over time per avatar or language, summaries, flags."""
import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from avatars.models import Avatar
from common.errors import ApplicationError, NotFound, PermissionDenied
from common.languages import KIOSK_LANGUAGES
from common.roles import Role, has_role
from conversations.models import Turn
from lipsync.models import QaFlag, TurnQaScore
from lipsync.selectors import QaSummary, qa_confidence_threshold, qa_rolling_summary

GROUPS = ("avatar", "language")
MAX_DAYS = 90
MAX_POINTS = 20000  # scores read for one chart


@dataclass(frozen=True)
class QaPoint:
    at: datetime.datetime  # start of the bucket
    mean_confidence: float
    count: int


@dataclass(frozen=True)
class QaSeries:
    label: str
    points: list[QaPoint]

    @property
    def count(self) -> int:
        return sum(p.count for p in self.points)


@dataclass(frozen=True)
class QaSummaryRow:
    label: str
    summary: QaSummary
    threshold: float
    flagged: bool


@dataclass(frozen=True)
class QaOverview:
    scorer: str
    scorers: list[str]
    group_by: str
    days: int
    since: datetime.datetime
    until: datetime.datetime
    bucket: datetime.timedelta
    threshold: float
    series: list[QaSeries]
    summaries: list[QaSummaryRow]
    open_flags: int


def _bucket_start(at: datetime.datetime, bucket: datetime.timedelta) -> datetime.datetime:
    at = timezone.localtime(at)
    if bucket >= datetime.timedelta(days=1):
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(minute=0, second=0, microsecond=0)


def qa_overview(*, group_by: str = "avatar", scorer: str | None = None, days: int = 14,
                now: datetime.datetime | None = None) -> QaOverview:
    """Mean confidence per day (per hour for windows of two days or less) of each avatar or language."""
    if group_by not in GROUPS:
        raise ApplicationError("qa_bad_group", f"Group by one of: {', '.join(GROUPS)}.")
    if not 1 <= days <= MAX_DAYS:
        raise ApplicationError("qa_bad_days", _("Choose between 1 and %(max)d days.") % {"max": MAX_DAYS})
    until = now or timezone.now()
    since = until - datetime.timedelta(days=days)
    scorers = sorted(set(TurnQaScore.objects.filter(error_code="").values_list("scorer", flat=True)))
    if scorer is None:  # the scorer that scored last
        latest = TurnQaScore.objects.filter(error_code="").order_by("-scored_at").first()
        scorer = latest.scorer if latest else "embedded"
    elif scorer not in scorers:
        raise ApplicationError("qa_bad_scorer", f"No scores by {scorer!r}.")
    bucket = datetime.timedelta(hours=1) if days <= 2 else datetime.timedelta(days=1)
    scores = (TurnQaScore.objects.filter(scorer=scorer, error_code="", confidence__isnull=False,
                                         scored_at__gte=since, scored_at__lte=until)
              .order_by("scored_at").values_list("scored_at", "confidence", "avatar__name", "language")[:MAX_POINTS])
    sums: dict[str, dict[datetime.datetime, list[float]]] = defaultdict(lambda: defaultdict(list))
    for scored_at, confidence, avatar_name, language in scores:
        key = (avatar_name or "—") if group_by == "avatar" else (language or "—")
        sums[key][_bucket_start(scored_at, bucket)].append(float(confidence or 0.0))  # never None here
    order = list(KIOSK_LANGUAGES) if group_by == "language" else sorted(sums)
    series = [
        QaSeries(label, [QaPoint(at, round(sum(v) / len(v), 4), len(v)) for at, v in sorted(sums[label].items())])
        for label in sorted(sums, key=lambda k: (order.index(k) if k in order else len(order), k))
    ]
    return QaOverview(scorer=scorer, scorers=scorers or [scorer], group_by=group_by, days=days, since=since, until=until,
                      bucket=bucket, threshold=qa_confidence_threshold(scorer), series=series,
                      summaries=qa_summary_rows(scorer=scorer), open_flags=qa_flag_list(status="open").count())


def qa_summary_rows(*, scorer: str) -> list[QaSummaryRow]:
    """The rolling summary of every avatar and every voice that has scores by ``scorer``."""
    scored = TurnQaScore.objects.filter(scorer=scorer, error_code="")
    open_flags = set(QaFlag.objects.filter(scorer=scorer, acknowledged_at__isnull=True).values_list("subject", "subject_key"))
    names = dict(Avatar.objects.filter(qa_scores__in=scored).values_list("pk", "name").distinct())
    rows = []
    for avatar_id, name in sorted(names.items(), key=lambda item: item[1]):
        rows.append((QaFlag.Subject.AVATAR, str(avatar_id), name))
    for voice in sorted(set(scored.exclude(voice="").values_list("voice", flat=True))):
        rows.append((QaFlag.Subject.VOICE, voice, voice))
    threshold = qa_confidence_threshold(scorer)
    return [QaSummaryRow(label, qa_rolling_summary(subject=subject, key=key, scorer=scorer), threshold,
                         (subject, key) in open_flags) for subject, key, label in rows]


def qa_flag_list(*, status: str = "open") -> QuerySet[QaFlag]:
    """Flags, newest first: ``open`` (not yet acknowledged), ``acknowledged`` or ``all``."""
    flags = QaFlag.objects.select_related("turn__conversation__kiosk", "acknowledged_by")
    if status == "open":
        return flags.filter(acknowledged_at__isnull=True)
    if status == "acknowledged":
        return flags.filter(acknowledged_at__isnull=False)
    if status == "all":
        return flags
    raise ApplicationError("qa_bad_status", _("Show open, acknowledged or all flags."))


def access_turn_answer_clip(user: AbstractBaseUser | AnonymousUser, turn_id: int) -> Turn:
    """The turn whose rendered answer a supervisor (or admin) asked to watch."""
    if not has_role(user, Role.SUPERVISOR):
        raise PermissionDenied("qa_forbidden", "Lip-sync review is for supervisors.")
    turn = Turn.objects.filter(pk=turn_id, role=Turn.Role.AVATAR).first()
    if turn is None or not turn.answer_clip:
        raise NotFound("answer_clip_not_found", "This answer has no recorded clip.")
    return turn
