"""Retention of conversation records: conversations older than ``TRANSCRIPT_RETENTION_DAYS`` go.

A purge deletes the conversations, their turns and hand-off requests, and the turns' audio and
video files from media storage. Rows are deleted in batches, each in its own transaction, and
a batch's files only after it commits, so a failure never leaves rows pointing at deleted files.
The supervisors' access log keeps its copies of the ids (it records who read what).
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation, Turn

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class PurgeResult:
    conversations: int = 0
    turns: int = 0
    files: int = 0


def retention_cutoff(*, now: datetime | None = None, days: int | None = None) -> datetime | None:
    """Conversations started before this are purged; None when retention is off (``0`` days)."""
    days = settings.TRANSCRIPT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def _delete_files(names: list[str]) -> int:
    deleted = 0
    for name in names:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
                deleted += 1
        except OSError as exc:  # a file that cannot be deleted now is left for the operator; rows are gone
            log.error("retention: could not delete a clip file: %s", type(exc).__name__)
    return deleted


def transcripts_purge(*, before: datetime) -> PurgeResult:
    """Delete every conversation started before ``before`` with its turns and clip files."""
    result = PurgeResult()
    while True:
        with transaction.atomic():
            ids = list(Conversation.objects.filter(started_at__lt=before).order_by("id")
                       .values_list("id", flat=True)[:BATCH])
            if not ids:
                break
            clips = Turn.objects.filter(conversation_id__in=ids).values_list("audio_clip", "answer_clip")
            names = [name for pair in clips for name in pair if name]
            result.turns += Turn.objects.filter(conversation_id__in=ids).delete()[0]
            Conversation.objects.filter(id__in=ids).delete()  # hand-off requests cascade
            result.conversations += len(ids)
        result.files += _delete_files(names)
    log.info("retention: purged %d conversations, %d turns, %d files", result.conversations, result.turns, result.files)
    return result


def transcripts_purge_expired(*, now: datetime | None = None) -> PurgeResult:
    """The beat task's work: purge what is older than the retention period (nothing when it is 0)."""
    cutoff = retention_cutoff(now=now)
    return PurgeResult() if cutoff is None else transcripts_purge(before=cutoff)
