"""A sooner end of turn: speculative recognition at a pause, and no full wait when the words are complete."""
import numpy as np
import pytest
from channels.db import database_sync_to_async

from avatar_runtime.pipeline.endpointing import looks_complete
from avatar_runtime.pipeline.session import State
from avatar_runtime.vad.silero import VadConfig
from conversations.models import Turn
from tests.avatar_runtime.pipeline.harness import build_session
from tests.speech_samples import speak


@pytest.mark.parametrize(("text", "language"), [
    ("Where can I find a toilet?", "en"), ("It's on the second floor.", "en"), ("トイレはどこですか", "ja"),
    ("東京駅の北口はどちらですか?", "ja"), ("화장실이 어디에 있어요", "ko"), ("请问洗手间在哪里？", "zh"),
    ("有免费无线网络吗", "zh"), ("洗手間喺邊度呀", "yue"),
])
def test_finished_sentences_look_complete(text: str, language: str) -> None:
    assert looks_complete(text, language)


@pytest.mark.parametrize(("text", "language"), [
    ("Where can I find", "en"), ("So the toilet is,", "en"), ("Well...", "en"), ("東京駅の北口は", "ja"),
    ("화장실이 어디에", "ko"), ("请问洗手间", "zh"), ("", "en"), ("?", "en"),
])
def test_unfinished_words_do_not(text: str, language: str) -> None:
    assert not looks_complete(text, language)


@database_sync_to_async
def saved_turns() -> list[Turn]:
    return list(Turn.objects.order_by("conversation__started_at", "index"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_a_complete_question_is_answered_without_waiting_for_the_full_silence(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # An empty knowledge base (loading the demo one re-embeds every FAQ: minutes on a busy machine);
    # what is tested is when the turn ends and which words it has, not what the answer says.
    settings.MEDIA_ROOT = tmp_path / "media"
    timeline = await build_session(default_language="en")
    await timeline.start()
    await timeline.silence(0.5)
    await timeline.speak(speak("Where can I find a toilet?", "en")[0])
    await timeline.run_until(lambda: timeline.session.state == State.THINKING, limit=5)
    await timeline.until_state(State.LISTENING)
    await timeline.close()

    metrics = timeline.session.metrics
    assert metrics.speculations_used == 1 and metrics.early_ends == 1
    customer, avatar = await saved_turns()
    assert "toilet" in customer.text.lower() and customer.language == "en"
    assert avatar.role == "avatar" and avatar.language == "en" and avatar.text  # the polite "I don't know"
    # The turn ended at the pause, not after the full end-of-turn silence, and its transcript was
    # ready then (time stands still while ASR runs on this timeline, so "asr" is only what's left).
    config = VadConfig()
    assert config.pause_ms is not None
    assert config.pause_ms / 1000 - 0.01 <= avatar.timings["endpointing"] / 1000 < config.end_silence_ms / 1000 - 0.1
    assert avatar.timings["asr"] < 1.0
    assert avatar.timings["end_to_end"] == pytest.approx(
        avatar.timings["endpointing"] + avatar.timings["first_frame"], abs=1.0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_words_after_a_pause_replace_the_guess(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    timeline = await build_session(default_language="ja")
    await timeline.start()
    timeline.session.set_language("ja")
    await timeline.silence(0.5)
    await timeline.speak(speak("駐車場の料金は", "ja")[0])
    await timeline.silence(0.25)  # longer than the VAD's pause, shorter than the end of turn
    await timeline.speak(speak("いくらですか。", "ja")[0])
    await timeline.run_until(lambda: timeline.session.state == State.THINKING, limit=5)
    await timeline.until_state(State.LISTENING)
    await timeline.close()

    metrics = timeline.session.metrics
    assert metrics.speculations_dropped >= 1  # the guess made at the pause was not used
    assert metrics.speculations_used == 1  # the one at the real end was
    turns = await saved_turns()
    assert [t.role for t in turns] == ["customer", "avatar"]
    assert "いくら" in turns[0].text or "幾ら" in turns[0].text
    assert turns[1].language == "ja" and turns[1].text
    spoken = timeline.speaking_audio()
    assert len(spoken) / 16000 > 1.0 and float(np.sqrt(np.mean(spoken**2))) > 0.01
