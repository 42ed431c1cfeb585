"""Background jobs of the avatars app.

Tasks keep the ``kiosk.tasks.*`` names they were registered under before the apps split: jobs
queued before a deploy carry that name, so it stays the task's identity (as the moved models
keep their tables).
"""
from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from avatars.answer_audio import answer_audio_failed, answer_audio_progress_key, answer_audio_refresh
from avatars.models import Avatar
from avatars.services import avatar_prepare
from common.errors import ApplicationError


@shared_task(name="kiosk.tasks.avatar_prepare", acks_late=True)
def avatar_prepare_task(avatar_id: int) -> str:
    """Prepare an uploaded avatar; an unusable photo ends as a failed avatar, not a retried job."""
    try:
        return avatar_prepare(avatar_id=avatar_id).status
    except ApplicationError as exc:
        return f"failed: {exc.code}"
    except Avatar.DoesNotExist:  # deleted while it waited in the queue
        return "deleted"


# Storage and database hiccups: worth another try (with backoff).
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


@shared_task(bind=True, name="kiosk.tasks.answer_audio_refresh", acks_late=True, max_retries=None)
def answer_audio_refresh_task(self: Task, language: str) -> str | Retry:
    """Speak ``language``'s FAQ answers into the answer audio cache (idempotent; progress in the cache).

    Retried with backoff when storage or the database fail, and when a network voice (Edge) could
    not speak: its sentences stay missing (the offline fallback's are stored) until a retry finds it.
    """
    progress = answer_audio_progress_key(language)

    def report(fraction: float, stage: str) -> None:
        cache.set(progress, {"fraction": round(fraction, 3), "stage": stage}, timeout=3600)

    retries = self.request.retries
    try:
        result = answer_audio_refresh(language=language, report=report)
    except TRANSIENT_ERRORS as exc:
        if retries >= settings.ANSWER_AUDIO_JOB_MAX_RETRIES:
            answer_audio_failed(language=language, message=f"gave up after {retries} retries: {type(exc).__name__}")
            report(1.0, "done")
            return "failed: retries exhausted"
        retry = self.retry(exc=exc, countdown=min(2 ** retries * 10, 1800), throw=False)
        if self.request.is_eager:  # inline (no broker): Celery re-runs a returned Retry at once
            return retry
        raise retry from exc
    summary = f"{language}: {result.made} made, {result.kept} kept, {result.removed} removed, {result.missing} missing"
    if result.network_failed and not self.request.is_eager and retries < settings.ANSWER_AUDIO_JOB_MAX_RETRIES:
        # Edge was unreachable: its audio is what should be cached, so look again later (inline
        # there is no later: the next change or the console's rebuild tries again).
        raise self.retry(countdown=min(2 ** retries * 60, 3600))
    return summary
