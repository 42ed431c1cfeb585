"""The lip-sync job, run inline (eager Celery, the laptop layout) on real rendered clips."""
import uuid

import pytest
import torch

from avatar_runtime.qa.embedded import CONFIDENCE_THRESHOLD
from avatar_runtime.qa.s3fd import S3FDNet
from avatar_runtime.qa.syncnet_model import SyncNet
from conversations import services
from conversations.models import Turn
from lipsync.models import QaFlag, TurnQaScore
from lipsync.tasks import qa_score_turn
from tests.lipsync.conftest import TurnFactory, clip_bytes

pytestmark = pytest.mark.usefixtures("celery_eager")


def attach_answer(turn: Turn, content: bytes, capture) -> Turn:  # type: ignore[no-untyped-def]
    """What the avatar worker does after it has saved the turn: upload the played answer."""
    with capture(execute=True):
        return services.turn_clip_attach(turn_id=turn.public_id, kind="answer", content=content, filename="answer.mp4")


@pytest.mark.slow
def test_a_saved_answer_clip_is_scored_after_commit_and_only_once(
        avatar_turn: TurnFactory, django_capture_on_commit_callbacks) -> None:
    turn = avatar_turn(voice="offline:en_US-amy", language="en")
    with django_capture_on_commit_callbacks(execute=False) as pending:
        services.turn_clip_attach(turn_id=turn.public_id, kind="answer", content=clip_bytes("late"), filename="answer.mp4")
        assert not TurnQaScore.objects.exists()  # nothing is scored before the clip is committed
    assert len(pending) == 1
    pending[0]()
    score = TurnQaScore.objects.get(turn=turn)
    assert score.scorer == "embedded" and not score.error_code
    assert abs(score.offset_frames - 4) <= 1  # the clip's audio is 4 frames late
    assert score.confidence > CONFIDENCE_THRESHOLD and 0 < score.min_dist < 1.5
    assert (score.avatar.name, score.voice, score.language) == ("Astronaut", "offline:en_US-amy", "en")
    assert qa_score_turn.delay(turn.pk).get() == f"scored: embedded {score.confidence}"  # a retry of the job
    assert TurnQaScore.objects.filter(turn=turn).count() == 1


@pytest.mark.slow
def test_audio_that_does_not_belong_to_the_lips_scores_low_and_raises_flags(
        avatar_turn: TurnFactory, django_capture_on_commit_callbacks, settings) -> None:
    settings.QA_FLAG_MIN_SCORES = 2
    for _ in range(2):
        attach_answer(avatar_turn(voice="edge:en-US-AriaNeural"), clip_bytes("mismatched"), django_capture_on_commit_callbacks)
    confidences = list(TurnQaScore.objects.values_list("confidence", flat=True))
    assert len(confidences) == 2 and all(c < CONFIDENCE_THRESHOLD for c in confidences)
    assert set(QaFlag.objects.values_list("subject", "subject_key", "reason")) >= {
        ("avatar", str(TurnQaScore.objects.first().avatar_id), "low_confidence"),
        ("voice", "edge:en-US-AriaNeural", "low_confidence")}


def test_an_unreadable_clip_is_stored_as_an_error_not_retried(avatar_turn: TurnFactory,
                                                               django_capture_on_commit_callbacks) -> None:
    turn = attach_answer(avatar_turn(), b"\x00\x00\x00\x18ftypmp42 definitely not a video", django_capture_on_commit_callbacks)
    score = TurnQaScore.objects.get(turn=turn)
    assert (score.error_code, score.confidence) == ("clip_unreadable", None)
    assert qa_score_turn.delay(turn.pk).get() == "failed: clip_unreadable"
    assert not QaFlag.objects.exists()


def test_a_clip_missing_from_storage_is_retried_then_recorded(avatar_turn: TurnFactory, settings) -> None:
    settings.QA_JOB_MAX_RETRIES = 2
    turn = avatar_turn(clip=b"bytes that vanish")
    turn.answer_clip.storage.delete(turn.answer_clip.name)
    result = qa_score_turn.delay(turn.pk)
    assert result.get() == "failed: qa_retries_exhausted"
    score = TurnQaScore.objects.get(turn=turn)
    assert score.error_code == "qa_retries_exhausted" and "2 retries: FileNotFoundError" in score.error


def test_sampling_and_what_is_not_scored(avatar_turn: TurnFactory, django_capture_on_commit_callbacks, settings) -> None:
    settings.QA_SAMPLE_RATE = 0.0
    attach_answer(avatar_turn(), b"never decoded", django_capture_on_commit_callbacks)
    settings.QA_SAMPLE_RATE = 1.0
    customer = avatar_turn()
    Turn.objects.filter(pk=customer.pk).update(role=Turn.Role.CUSTOMER)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.turn_clip_attach(turn_id=customer.public_id, kind="audio", content=b"RIFF", filename="question.wav")
    assert callbacks == [] and not TurnQaScore.objects.exists()
    assert qa_score_turn.delay(10**9).get() == "failed: turn_not_found"
    assert qa_score_turn.delay(avatar_turn().pk).get() == "failed: turn_no_answer_clip"


def test_syncnet_without_its_weights_stores_a_clear_error(avatar_turn: TurnFactory, settings, tmp_path) -> None:
    settings.AVATAR_QA_BACKEND = "syncnet"
    settings.MODELS_DIR = tmp_path / "models"
    turn = avatar_turn(clip=b"not looked at")
    assert qa_score_turn.delay(turn.pk).get() == "failed: qa_model_missing"
    score = TurnQaScore.objects.get(turn=turn)
    assert score.scorer == "syncnet" and "syncnet/syncnet_v2.model" in score.error


@pytest.fixture
def small_syncnet(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    """A real SyncNet (64-d embeddings) and S3FD with random weights, saved in the official checkpoint
    layouts into ``MODELS_DIR/syncnet/``: CI needs no downloaded weights."""
    torch.manual_seed(0)
    models = tmp_path / f"models-{uuid.uuid4().hex[:6]}"
    (models / "syncnet").mkdir(parents=True)
    torch.save(SyncNet(embedding=64).state_dict(), models / "syncnet" / "syncnet_v2.model")
    torch.save(S3FDNet().state_dict(), models / "syncnet" / "sfd_face.pth")
    settings.MODELS_DIR = models
    settings.AVATAR_QA_BACKEND = "auto"  # picks SyncNet because its weights are there


@pytest.mark.slow
def test_a_clip_is_scored_by_syncnet_end_to_end(small_syncnet: None, avatar_turn: TurnFactory,
                                                django_capture_on_commit_callbacks) -> None:
    turn = attach_answer(avatar_turn(), clip_bytes("first-frames"), django_capture_on_commit_callbacks)
    score = TurnQaScore.objects.get(turn=turn)
    assert score.scorer == "syncnet" and not score.error_code
    assert -15 <= score.offset_frames <= 15 and score.min_dist > 0 and score.confidence >= 0
    # random weights know nothing of sync: far under the LSE-C threshold of a trained SyncNet
    assert score.confidence < 3.0
