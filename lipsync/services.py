"""Writes for lip-sync QA: score an answer's clip, store the score, keep the flags up to date.

The Celery job ``kiosk.tasks.qa_score_turn`` (``lipsync.tasks``) calls ``turn_qa_score``; the worker's clip
upload (``conversations.services.turn_clip_attach``, its ``answer_clip_saved`` signal) schedules it through
``turn_qa_enqueue`` once the clip is committed.
"""
import contextlib
import functools
import logging
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from audit.log import audit_record
from avatar_runtime.errors import ModelMissingError
from avatar_runtime.qa.base import SyncScore, SyncScorer
from avatar_runtime.qa.media import ClipError
from avatar_runtime.qa.scorers import make_scorer
from common.errors import ApplicationError, NotFound
from common.jobs import enqueue
from conversations.models import Turn
from lipsync.models import QaFlag, TurnQaScore
from lipsync.selectors import qa_confidence_threshold, qa_rolling_summary

log = logging.getLogger(__name__)
MAX_NOTE_CHARS = 300


def turn_qa_enqueue(*, turn: Turn) -> bool:
    """Schedule a lip-sync score of ``turn``'s answer clip after the current transaction commits.

    Sampled: ``QA_SAMPLE_RATE`` of the clips are scored. Returns whether a job was scheduled.
    """
    if turn.role != Turn.Role.AVATAR or not turn.answer_clip:
        return False
    if random.random() >= settings.QA_SAMPLE_RATE:
        return False
    from lipsync.tasks import qa_score_turn  # tasks import this module

    turn_pk = turn.pk
    transaction.on_commit(lambda: enqueue(qa_score_turn, turn_pk))
    return True


@functools.cache
def _scorer(backend: str, models_dir: str) -> SyncScorer:
    return make_scorer(backend, Path(models_dir))


def qa_scorer() -> SyncScorer:
    """The configured scorer (``AVATAR_QA_BACKEND``), loaded once per process."""
    return _scorer(settings.AVATAR_QA_BACKEND, str(settings.MODELS_DIR))


@contextlib.contextmanager
def _local_path(clip: FieldFile) -> Iterator[Path]:
    """A filesystem path to ``clip``: its own on local storage, a temporary copy otherwise."""
    try:
        local: Path | None = Path(clip.path)
    except NotImplementedError:  # remote storage (S3 and the like)
        local = None
    if local is not None:
        if not local.exists():  # storage not mounted yet, or the file is still being written: retried
            raise FileNotFoundError(f"answer clip {clip.name} is not in storage")
        yield local
        return
    with tempfile.NamedTemporaryFile(suffix=Path(clip.name or "clip.mp4").suffix) as copy:
        with clip.open("rb") as source:
            shutil.copyfileobj(source, copy)
        copy.flush()
        yield Path(copy.name)


def turn_qa_score(*, turn_id: int) -> TurnQaScore:
    """Score the turn's answer clip and store the result (or why it could not be scored).

    Idempotent: a turn already scored by the configured scorer keeps its score. Clips that cannot
    be scored and missing model files are stored as errors; storage and database failures
    (``OSError``, ``OperationalError``) propagate so that the job retries them.
    """
    turn = Turn.objects.select_related("conversation__kiosk").filter(pk=turn_id).first()
    if turn is None:
        raise NotFound("turn_not_found", f"No turn {turn_id}.")
    if turn.role != Turn.Role.AVATAR or not turn.answer_clip:
        raise ApplicationError("turn_no_answer_clip", "Only avatar turns with a rendered answer clip are scored.")
    try:
        scorer = qa_scorer()
    except ModelMissingError as exc:
        return turn_qa_record(turn=turn, scorer=settings.AVATAR_QA_BACKEND, error=("qa_model_missing", str(exc)))
    existing = TurnQaScore.objects.filter(turn=turn, scorer=scorer.name).first()
    if existing is not None:
        return existing
    try:
        with _local_path(turn.answer_clip) as path:
            result = scorer.score(path)
    except ClipError as exc:
        return turn_qa_record(turn=turn, scorer=scorer.name, error=(exc.code, exc.message))
    return turn_qa_record(turn=turn, scorer=scorer.name, result=result)


def turn_qa_score_failed(*, turn_id: int, code: str, message: str) -> TurnQaScore | None:
    """Record that scoring gave up (retries exhausted); ``None`` when the turn no longer exists."""
    turn = Turn.objects.select_related("conversation__kiosk").filter(pk=turn_id).first()
    if turn is None:
        return None
    return turn_qa_record(turn=turn, scorer=settings.AVATAR_QA_BACKEND, error=(code, message))


@transaction.atomic
def turn_qa_record(*, turn: Turn, scorer: str, result: SyncScore | None = None,
                   error: tuple[str, str] | None = None) -> TurnQaScore:
    """Store a score (or an error ``(code, message)``) once per turn and scorer; a new score updates the flags."""
    kiosk = turn.conversation.kiosk
    fields: dict[str, object] = {
        "avatar_id": kiosk.avatar_id if kiosk else None, "voice": turn.spoken_voice or turn.voice, "language": turn.language,
        "scored_at": timezone.now(),
    }
    if result is not None:
        fields.update(offset_frames=result.offset_frames, confidence=result.confidence, min_dist=result.min_dist)
    if error is not None:
        fields.update(error_code=error[0][:32], error=error[1][:300])
    score, created = TurnQaScore.objects.get_or_create(turn=turn, scorer=scorer, defaults=fields)
    if created and result is not None:
        qa_flags_evaluate(score=score)
    log.info("turn %s: lip-sync %s %s", turn.pk, scorer, score.error_code or f"confidence {score.confidence}")
    return score


def qa_flags_evaluate(*, score: TurnQaScore) -> list[QaFlag]:
    """Raise (or refresh) the flags of the score's avatar and voice from their rolling summaries.

    A flag stays open until a supervisor acknowledges it; after that, only scores made since
    the acknowledgement can raise it again (at least ``QA_FLAG_MIN_SCORES`` of them).
    """
    subjects: list[tuple[str, str, str]] = []
    if score.avatar_id is not None:
        subjects.append((QaFlag.Subject.AVATAR, str(score.avatar_id), score.avatar.name if score.avatar else ""))
    if score.voice:
        subjects.append((QaFlag.Subject.VOICE, score.voice, score.voice))
    limits = {QaFlag.Reason.LOW_CONFIDENCE: qa_confidence_threshold(score.scorer),
              QaFlag.Reason.OFFSET: float(settings.QA_MAX_OFFSET_FRAMES)}
    raised = []
    for subject, key, label in subjects:
        for reason, limit in limits.items():
            flags = QaFlag.objects.filter(subject=subject, subject_key=key, scorer=score.scorer, reason=reason)
            last_ack = flags.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at").first()
            summary = qa_rolling_summary(subject=subject, key=key, scorer=score.scorer,
                                         since=last_ack.acknowledged_at if last_ack else None)
            if summary.count < settings.QA_FLAG_MIN_SCORES:
                continue
            assert summary.mean_confidence is not None and summary.mean_abs_offset is not None
            bad = (summary.mean_confidence < limit if reason == QaFlag.Reason.LOW_CONFIDENCE
                   else summary.mean_abs_offset > limit)
            if not bad:
                continue
            numbers = {"mean_confidence": summary.mean_confidence, "mean_abs_offset": summary.mean_abs_offset,
                       "threshold": limit, "window": summary.count, "turn": score.turn, "subject_label": label[:200]}
            flag, created = QaFlag.objects.update_or_create(
                subject=subject, subject_key=key, scorer=score.scorer, reason=reason, acknowledged_at=None,
                defaults=numbers, create_defaults={**numbers, "raised_at": timezone.now()},
            )
            if created:
                log.warning("lip-sync flag raised: %s %s %s (%s)", subject, key, reason, score.scorer)
            raised.append(flag)
    return raised


@transaction.atomic
def qa_flag_acknowledge(*, flag_id: int, user: AbstractBaseUser, note: str = "") -> QaFlag:
    """A supervisor has seen the flag. Acknowledging twice keeps the first acknowledgement."""
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ApplicationError("qa_note_too_long", f"The note can be at most {MAX_NOTE_CHARS} characters.")
    flag = QaFlag.objects.select_for_update().filter(pk=flag_id).first()
    if flag is None:
        raise NotFound("qa_flag_not_found", f"No QA flag {flag_id}.")
    if flag.acknowledged_at is None:
        flag.acknowledged_at = timezone.now()
        flag.acknowledged_by_id = user.pk
        flag.note = note
        flag.save(update_fields=["acknowledged_at", "acknowledged_by", "note"])
        audit_record(actor=user, action="qa_flag.acknowledge", target=flag, before={"acknowledged": False},
                     after={"acknowledged": True, "note": note})
    return flag
