"""Rolling summaries per avatar and voice, flags, acknowledgement, and the transcripts selectors."""
import pytest

from avatar_runtime.qa.base import SyncScore
from common.errors import ApplicationError, NotFound
from lipsync.models import QaFlag, TurnQaScore
from lipsync.selectors import qa_rolling_summary, qa_score_for_turns, turns_with_qa_below
from lipsync.services import qa_flag_acknowledge, turn_qa_record
from tests.lipsync.conftest import TurnFactory


def record(turn_factory: TurnFactory, confidence: float, offset: int = 0, scorer: str = "embedded", **turn: str) -> TurnQaScore:
    return turn_qa_record(turn=turn_factory(**turn), scorer=scorer,
                          result=SyncScore(scorer, offset, confidence, round(1.5 - confidence, 3)))


def test_summary_covers_the_last_n_scores_of_an_avatar_and_of_a_voice(avatar_turn: TurnFactory, settings) -> None:
    settings.QA_ROLLING_WINDOW = 3
    for confidence, offset in ((0.4, 2), (0.9, 1), (0.8, -1), (1.0, 0)):  # means 0.7 and 0.9 >= 0.65
        score = record(avatar_turn, confidence, offset)
    record(avatar_turn, 0.2, 5, avatar="Robot", voice="edge:en-US-AriaNeural")
    summary = qa_rolling_summary(subject="avatar", key=str(score.avatar_id), scorer="embedded")
    assert (summary.count, summary.mean_confidence, summary.mean_abs_offset) == (3, 0.9, 0.667)  # the 0.4 aged out
    voice = qa_rolling_summary(subject="voice", key="edge:en-US-AriaNeural", scorer="embedded")
    assert (voice.count, voice.mean_confidence, voice.mean_abs_offset) == (1, 0.2, 5.0)
    assert qa_rolling_summary(subject="voice", key="offline:en_US-amy", scorer="syncnet").count == 0
    assert not QaFlag.objects.exists()  # good scores, and the Robot has fewer than QA_FLAG_MIN_SCORES


def test_low_rolling_confidence_flags_the_avatar_and_the_voice_once(avatar_turn: TurnFactory) -> None:
    for confidence in (0.9, 0.3, 0.2):  # mean 0.467 < 0.65 at the third score
        record(avatar_turn, confidence)
    flags = list(QaFlag.objects.order_by("subject"))
    assert [(f.subject, f.subject_label, f.reason) for f in flags] == [
        ("avatar", "Astronaut", "low_confidence"), ("voice", "offline:en_US-amy", "low_confidence")]
    assert flags[0].mean_confidence == pytest.approx(0.4667, abs=1e-4) and flags[0].threshold == 0.65
    last = record(avatar_turn, 0.1)
    assert QaFlag.objects.count() == 2  # still one open flag per problem, refreshed
    refreshed = QaFlag.objects.get(subject="avatar")
    assert refreshed.turn_id == last.turn_id and refreshed.window == 4 and refreshed.raised_at == flags[0].raised_at


def test_thresholds_are_per_scorer(avatar_turn: TurnFactory) -> None:
    for _ in range(3):
        record(avatar_turn, 2.5, scorer="syncnet")  # would be fine for the embedded scorer; LSE-C needs 3
    assert set(QaFlag.objects.values_list("scorer", "reason", "threshold")) == {("syncnet", "low_confidence", 3.0)}


def test_offset_beyond_two_frames_flags(avatar_turn: TurnFactory) -> None:
    for offset in (3, 2, 4):
        record(avatar_turn, 0.9, offset, voice="edge:ja-JP-NanamiNeural", language="ja")
    flag = QaFlag.objects.get(subject="avatar")
    assert flag.reason == "offset" and flag.mean_abs_offset == 3.0 and flag.threshold == 2.0
    assert QaFlag.objects.filter(subject="voice", subject_key="edge:ja-JP-NanamiNeural", reason="offset").exists()


def test_acknowledged_flag_needs_fresh_evidence_to_come_back(avatar_turn: TurnFactory, make_user) -> None:
    for confidence in (0.2, 0.3, 0.1):
        record(avatar_turn, confidence)
    supervisor = make_user("sam", None)
    flag = QaFlag.objects.get(subject="avatar")
    qa_flag_acknowledge(flag_id=flag.pk, user=supervisor, note="  new photo uploaded ")
    again = qa_flag_acknowledge(flag_id=flag.pk, user=make_user("other", None))
    assert again.acknowledged_by_id == supervisor.pk and again.note == "new photo uploaded"
    record(avatar_turn, 0.2)
    record(avatar_turn, 0.2)
    assert not QaFlag.objects.filter(subject="avatar", acknowledged_at__isnull=True).exists()  # 2 new scores < 3
    record(avatar_turn, 0.2)
    assert QaFlag.objects.filter(subject="avatar", acknowledged_at__isnull=True).count() == 1


def test_acknowledge_rejects_bad_input(avatar_turn: TurnFactory, make_user) -> None:
    user = make_user("sam", None)
    with pytest.raises(NotFound) as missing:
        qa_flag_acknowledge(flag_id=999, user=user)
    assert missing.value.code == "qa_flag_not_found"
    for confidence in (0.2, 0.3, 0.1):
        record(avatar_turn, confidence)
    flag = QaFlag.objects.get(subject="avatar")
    with pytest.raises(ApplicationError) as long_note:
        qa_flag_acknowledge(flag_id=flag.pk, user=user, note="x" * 301)
    assert long_note.value.code == "qa_note_too_long"
    flag.refresh_from_db()
    assert flag.acknowledged_at is None


def test_transcripts_selectors(avatar_turn: TurnFactory) -> None:
    good = record(avatar_turn, 0.9).turn
    bad = record(avatar_turn, 0.3).turn
    lse = record(avatar_turn, 2.0, scorer="syncnet").turn
    failed = turn_qa_record(turn=avatar_turn(), scorer="embedded", error=("clip_no_face", "No face was found in the clip."))
    retried = turn_qa_record(turn=good, scorer="syncnet", error=("qa_model_missing", "missing"))
    unscored = avatar_turn()
    column = qa_score_for_turns([good.pk, bad.pk, failed.turn_id, unscored.pk])
    assert set(column) == {good.pk, bad.pk, failed.turn_id}
    assert column[good.pk].confidence == 0.9 and column[good.pk].pk != retried.pk  # a score beats a failure
    assert column[failed.turn_id].error_code == "clip_no_face"
    assert set(turns_with_qa_below()) == {bad, lse}  # each scorer's own threshold
    assert set(turns_with_qa_below(0.95)) == {good, bad}  # syncnet's 2.0 is not under 0.95
    assert set(turns_with_qa_below(5, scorer="syncnet")) == {lse}


def test_scores_are_credited_to_the_voice_that_spoke_not_the_configured_one(avatar_turn: TurnFactory) -> None:
    from adminconsole.qa_selectors import qa_summary_rows

    for confidence in (0.3, 0.2, 0.1):  # Edge was down: the offline fallback spoke these answers, badly synced
        score = record(avatar_turn, confidence, voice="edge:en-US-AriaNeural", spoken_voice="espeak:en-us")
        assert score.voice == "espeak:en-us"
    record(avatar_turn, 0.9, voice="edge:en-US-AriaNeural", spoken_voice="edge:en-US-AriaNeural")
    assert qa_rolling_summary(subject="voice", key="espeak:en-us", scorer="embedded").count == 3
    assert qa_rolling_summary(subject="voice", key="edge:en-US-AriaNeural", scorer="embedded").count == 1
    assert set(QaFlag.objects.filter(subject="voice").values_list("subject_key", flat=True)) == {"espeak:en-us"}
    voices = {row.summary.key: row.summary.count for row in qa_summary_rows(scorer="embedded") if row.summary.subject == "voice"}
    assert voices == {"espeak:en-us": 3, "edge:en-US-AriaNeural": 1}
