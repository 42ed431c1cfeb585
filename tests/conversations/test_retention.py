"""Retention: conversations older than TRANSCRIPT_RETENTION_DAYS go, with their turns and clip files."""
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from conversations import services
from conversations.models import Conversation, HandoffRequest, TranscriptAccess, Turn
from conversations.retention import retention_cutoff, transcripts_purge_expired
from conversations.tasks import transcripts_purge_expired_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def _conversation(age_days: int, wav: bytes) -> tuple[Conversation, list[str]]:
    public_id, customer, avatar = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    services.conversation_start(public_id=public_id, kiosk_id=None, language="en")
    services.transcript_turn_append(conversation_id=public_id, turn_id=customer, role="customer",
                                    fields={"text": "Where is the toilet?", "language": "en"})
    services.transcript_turn_append(conversation_id=public_id, turn_id=avatar, role="avatar",
                                    fields={"text": "On level 2.", "language": "en", "answerable": True})
    services.turn_clip_attach(turn_id=customer, kind="audio", content=wav, filename="question.wav")
    services.turn_clip_attach(turn_id=avatar, kind="answer", content=wav, filename="answer.wav")
    services.handoff_request_create(conversation_id=public_id)
    Conversation.objects.filter(public_id=public_id).update(started_at=timezone.now() - timedelta(days=age_days))
    conversation = Conversation.objects.get(public_id=public_id)
    files = [name for turn in conversation.turns.all() for name in (turn.audio_clip.name, turn.answer_clip.name) if name]
    assert len(files) == 2
    return conversation, files


@pytest.fixture
def wav(tmp_path: Path) -> bytes:
    import numpy as np
    import soundfile as sf

    path = tmp_path / "tone.wav"
    sf.write(path, 0.2 * np.sin(np.linspace(0, 440 * 2 * np.pi, 16000)).astype(np.float32), 16000)
    return path.read_bytes()


def test_purge_deletes_old_conversations_turns_and_files_and_keeps_recent_ones(
    settings: Any, media_root: Path, wav: bytes
) -> None:
    settings.TRANSCRIPT_RETENTION_DAYS = 90
    old, old_files = _conversation(91, wav)
    recent, recent_files = _conversation(89, wav)
    TranscriptAccess.objects.create(username="supervisor", action="view", conversation_public_id=old.public_id)
    assert all((media_root / name).is_file() for name in old_files + recent_files)

    result = transcripts_purge_expired_task.apply().get()  # the beat task, run here rather than on a worker

    assert result == {"conversations": 1, "turns": 2, "files": 2}
    assert list(Conversation.objects.values_list("public_id", flat=True)) == [recent.public_id]
    assert Turn.objects.filter(conversation__public_id=old.public_id).count() == 0
    assert HandoffRequest.objects.count() == 1
    assert not any((media_root / name).exists() for name in old_files)
    assert all(default_storage.exists(name) for name in recent_files)
    assert TranscriptAccess.objects.filter(conversation_public_id=old.public_id).exists()  # the access log stays


def test_zero_days_keeps_everything(settings: Any, wav: bytes) -> None:
    settings.TRANSCRIPT_RETENTION_DAYS = 0
    _conversation(4000, wav)
    assert retention_cutoff() is None
    assert transcripts_purge_expired().conversations == 0
    assert Conversation.objects.count() == 1


def test_purge_works_in_batches(settings: Any, wav: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("conversations.retention.BATCH", 2)
    settings.TRANSCRIPT_RETENTION_DAYS = 30
    for _ in range(5):
        _conversation(31, wav)
    result = transcripts_purge_expired()
    assert (result.conversations, result.turns, result.files) == (5, 10, 10)
    assert not Conversation.objects.exists()


def test_beat_schedules_the_purge(settings: Any) -> None:
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["transcripts-purge-expired"]
    assert entry["task"] == "kiosk.tasks.transcripts_purge_expired" and entry["task"] in app.tasks
