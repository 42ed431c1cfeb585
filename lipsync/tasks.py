"""Background jobs of the kiosk app."""
from dataclasses import asdict

from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.db import InterfaceError, OperationalError

from common.errors import ApplicationError
from kiosk.avatars import avatar_prepare
from kiosk.qa_services import turn_qa_score, turn_qa_score_failed
from kiosk.retention import transcripts_purge_expired


@shared_task(name="kiosk.tasks.avatar_prepare", acks_late=True)
def avatar_prepare_task(avatar_id: int) -> str:
    """Prepare an uploaded avatar; an unusable photo ends as a failed avatar, not a retried job."""
    try:
        return avatar_prepare(avatar_id=avatar_id).status
    except ApplicationError as exc:
        return f"failed: {exc.code}"


# Storage and database hiccups: worth another try (with backoff); anything else is stored as an error.
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


@shared_task(bind=True, name="kiosk.tasks.qa_score_turn", acks_late=True, max_retries=None)
def qa_score_turn(self: Task, turn_id: int) -> str | Retry:
    """Lip-sync score of an avatar turn's answer clip, stored with the turn (idempotent)."""
    try:
        score = turn_qa_score(turn_id=turn_id)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= settings.QA_JOB_MAX_RETRIES:
            turn_qa_score_failed(turn_id=turn_id, code="qa_retries_exhausted",
                                 message=f"gave up after {self.request.retries} retries: {type(exc).__name__}")
            return "failed: qa_retries_exhausted"
        retry = self.retry(exc=exc, countdown=min(2 ** self.request.retries, 300), throw=False)
        if self.request.is_eager:  # inline (no broker): Celery re-runs a returned Retry at once, without the countdown
            return retry
        raise retry from exc
    except ApplicationError as exc:  # the turn is gone or has no clip: nothing to score
        return f"failed: {exc.code}"
    return f"failed: {score.error_code}" if score.error_code else f"scored: {score.scorer} {score.confidence}"


@shared_task(name="kiosk.tasks.transcripts_purge_expired")
def transcripts_purge_expired_task() -> dict[str, int]:
    """Every 6 hours (Celery beat): delete conversations older than ``TRANSCRIPT_RETENTION_DAYS``."""
    return asdict(transcripts_purge_expired())
