"""The worker records each answer as the kiosk played it, attaches the mp4 to the saved turn, and
the lip-sync job scores it: the whole path on real backends, with inline (eager) Celery."""
import asyncio
import time

import numpy as np
import pytest
from channels.db import database_sync_to_async

from avatar_runtime.llm.base import Retrieved
from avatar_runtime.pipeline.session import State
from avatar_runtime.qa.media import decode_clip
from avatars.models import Avatar
from conversations.models import Turn
from kiosk.models import Kiosk, Venue
from lipsync.models import TurnQaScore
from tests.avatar_runtime.pipeline.harness import build_session

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager_celery(settings, celery_eager: None) -> None:  # type: ignore[no-untyped-def]
    settings.AVATAR_QA_BACKEND = "embedded"


@database_sync_to_async
def kiosk_with_avatar() -> Kiosk:
    avatar = Avatar.objects.create(name="Astronaut", source="avatars/astronaut.png", status=Avatar.Status.READY)
    return Kiosk.objects.create(name="Lobby", venue=Venue.objects.create(name="Mall"), avatar=avatar)


def nothing_found(query: str, language: str, k: int) -> Retrieved:
    """An empty knowledge base: the answerer politely says it does not know (a real spoken answer)."""
    return Retrieved(answerable=False, passages=[])


@database_sync_to_async
def scored_answer() -> tuple[Turn, TurnQaScore] | None:
    score = TurnQaScore.objects.select_related("turn", "avatar").first()
    return (score.turn, score) if score else None


def envelope(audio: np.ndarray) -> np.ndarray:
    frames = len(audio) // 640
    return np.sqrt((audio[: frames * 640].reshape(frames, 640) ** 2).mean(axis=1))


async def test_the_played_answer_is_recorded_attached_and_scored(eager_celery: None, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    kiosk = await kiosk_with_avatar()
    timeline = await build_session(kiosk_id=kiosk.pk, default_language="en", retrieve_fn=nothing_found)
    timeline.session.config.answer_clip_rate = 1.0
    await timeline.start()
    timeline.session.push_text("Is there an ice rink on the roof?")
    await timeline.until_state(State.SPEAKING)
    await timeline.until_state(State.LISTENING)
    deadline = time.monotonic() + 240  # encoding, upload and scoring run off the session's timeline
    while (found := await scored_answer()) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await timeline.close()
    assert found is not None, "the answer was not scored"
    turn, score = found

    assert turn.role == "avatar" and turn.answer_clip.name.endswith(".mp4")
    played = [f for f in timeline.frames if f.speaking]
    clip = decode_clip(turn.answer_clip.path)
    assert len(clip.images) == len(played)  # every frame the kiosk showed while speaking, nothing else
    heard, recorded = envelope(np.concatenate([f.audio for f in played])), envelope(clip.audio)
    n = min(len(heard), len(recorded))
    assert n >= len(heard) - 2 and np.corrcoef(heard[:n], recorded[:n])[0, 1] > 0.95  # the audio it played
    assert score.scorer == "embedded" and not score.error_code
    assert score.avatar == kiosk.avatar and score.voice == turn.voice and score.language == "en"
    assert abs(score.offset_frames) <= 1 and score.confidence > 0.5  # the renderer keeps lips and audio in sync


@database_sync_to_async
def avatar_turns() -> list[Turn]:
    return list(Turn.objects.filter(role="avatar"))


async def test_while_the_governor_pauses_recording_answers_are_spoken_but_not_recorded(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    kiosk = await kiosk_with_avatar()
    timeline = await build_session(kiosk_id=kiosk.pk, default_language="en", retrieve_fn=nothing_found)
    timeline.session.config.answer_clip_rate = 1.0
    timeline.session.answer_recording_paused = True  # the machine had no headroom (worker.governor)
    await timeline.start()
    timeline.session.push_text("Is there an ice rink on the roof?")
    await timeline.until_state(State.SPEAKING)
    assert timeline.session.answer_recorder is None
    await timeline.until_state(State.LISTENING)
    await timeline.close()
    assert any(f.speaking for f in timeline.frames)  # the customer heard the whole answer
    turns = await avatar_turns()
    assert len(turns) == 1 and not turns[0].answer_clip
