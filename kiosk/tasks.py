"""Background jobs of the kiosk app."""
from dataclasses import asdict

from celery import shared_task

from common.errors import ApplicationError
from kiosk.avatars import avatar_prepare
from kiosk.retention import transcripts_purge_expired


@shared_task(name="kiosk.tasks.avatar_prepare", acks_late=True)
def avatar_prepare_task(avatar_id: int) -> str:
    """Prepare an uploaded avatar; an unusable photo ends as a failed avatar, not a retried job."""
    try:
        return avatar_prepare(avatar_id=avatar_id).status
    except ApplicationError as exc:
        return f"failed: {exc.code}"


@shared_task(name="kiosk.tasks.transcripts_purge_expired")
def transcripts_purge_expired_task() -> dict[str, int]:
    """Every 6 hours (Celery beat): delete conversations older than ``TRANSCRIPT_RETENTION_DAYS``."""
    return asdict(transcripts_purge_expired())
