"""Background jobs of the conversations app.

The task keeps the name it was registered under in ``kiosk``: the beat schedule, the README and
jobs queued before a deploy use that name, so it stays the task's identity (as the moved models
keep their tables).
"""
from dataclasses import asdict

from celery import shared_task

from conversations.retention import transcripts_purge_expired


@shared_task(name="kiosk.tasks.transcripts_purge_expired")
def transcripts_purge_expired_task() -> dict[str, int]:
    """Every 6 hours (Celery beat): delete conversations older than ``TRANSCRIPT_RETENTION_DAYS``."""
    return asdict(transcripts_purge_expired())
