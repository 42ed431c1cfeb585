"""Background jobs of the lip-sync QA app.

The task keeps the name it was registered under in ``kiosk``: jobs queued before a deploy carry
that name, so it stays the task's identity (as the moved models keep their tables).
"""
from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.db import InterfaceError, OperationalError

from common.errors import ApplicationError
from lipsync.services import turn_qa_score, turn_qa_score_failed

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
