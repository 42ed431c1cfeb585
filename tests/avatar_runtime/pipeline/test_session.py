"""A whole kiosk session on real offline backends and real speech, on a scripted timeline."""

import numpy as np
import pytest
from channels.db import database_sync_to_async

from avatar_runtime.audio import rms
from avatar_runtime.errors import ProviderError
from avatar_runtime.llm.base import Retrieved
from avatar_runtime.pipeline.session import State
from conversations.models import Conversation, Turn
from tests.avatar_runtime.pipeline.harness import EchoingMicrophone, build_session
from tests.speech_samples import speak

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def saved_turns(role: str | None = None) -> list[Turn]:
    turns = Turn.objects.order_by("conversation__started_at", "index")
    return list(turns.filter(role=role) if role else turns)


@database_sync_to_async
def conversation_statuses() -> list[str]:
    return list(Conversation.objects.values_list("status", flat=True))

# The embedded Whisper-base has no Cantonese and cannot read espeak-ng's Cantonese at all, so the
# Cantonese customer here taps 廣東話 and types the question in the kiosk's text box (SenseVoice,
# the production ASR, recognises spoken Cantonese).
QUESTIONS = [
    ("en", "Where can I find a toilet?", "restrooms", False),
    ("zh", "请问停车一个小时多少钱？", "car-parking", False),
    ("yue", "商場幾點鐘開門？", "opening-hours", True),
    ("ja", "無料のWi-Fiはありますか？", "free-wifi", False),
    ("ko", "주차 요금은 얼마예요?", "car-parking", False),
]


async def ask(timeline, text: str, language: str) -> None:  # type: ignore[no-untyped-def]
    audio, _rate = speak(text, language)
    await timeline.silence(0.5)
    await timeline.speak(audio)
    await timeline.run_until(lambda: timeline.session.state == State.THINKING, limit=5)


@pytest.mark.parametrize(("language", "question", "key", "tap"), QUESTIONS)
async def test_a_spoken_question_is_answered_in_its_language(demo_kb: None, language: str, question: str,
                                                             key: str, tap: bool) -> None:
    timeline = await build_session(default_language="en")
    await timeline.start()
    if tap:
        timeline.session.set_language(language)
        timeline.session.push_text(question)
    else:
        await ask(timeline, question, language)
    await timeline.until_state(State.SPEAKING)
    await timeline.until_state(State.LISTENING)
    await timeline.close()

    customer, avatar = await saved_turns()
    assert customer.role == "customer" and customer.language == language
    assert tap or customer.audio_clip.name.endswith(".wav")
    assert avatar.role == "avatar" and avatar.language == language and avatar.answerable is True
    assert avatar.retrieved[0]["key"] == key
    assert avatar.complete and not avatar.interrupted and avatar.heard_text == avatar.text
    for stage in ("retrieval", "first_frame", "end_to_end", *(() if tap else ("endpointing", "asr"))):
        assert avatar.timings[stage] >= 0, stage
    spoken = timeline.speaking_audio()
    assert len(spoken) / 16000 > 1.0 and float(np.sqrt(np.mean(spoken**2))) > 0.01
    captions = [e for e in timeline.events if e.get("type") == "caption" and e.get("role") == "avatar"]
    assert captions and captions[0]["text"] in avatar.text
    assert await conversation_statuses() == [Conversation.Status.ENDED]


async def answering(question: str, heard_frames: int, **session):  # type: ignore[no-untyped-def]
    """A session whose avatar has been answering ``question`` for ``heard_frames`` frames."""
    timeline = await build_session(default_language="en", **session)
    await timeline.start()
    await ask(timeline, question, "en")
    await timeline.until_state(State.SPEAKING)
    await timeline.run_until(lambda: len([f for f in timeline.frames if f.speaking]) >= heard_frames)
    return timeline


async def first_and_second_answer(timeline) -> tuple[Turn, Turn]:  # type: ignore[no-untyped-def]
    """Run until a second answer has been given, end the session, and return both saved answers."""
    await timeline.run_until(lambda: len(timeline.session.metrics.turns) == 2 and
                             timeline.session.state == State.LISTENING)
    await timeline.close()
    first, second = await saved_turns("avatar")
    return first, second


async def test_barge_in_stops_output_keeps_what_was_heard_and_answers_the_new_question(demo_kb: None) -> None:
    timeline = await answering("What are the opening hours of the mall?", 25)  # ~1 s heard
    interruption, _ = speak("Sorry, where is the taxi stand?", "en")
    before = len(timeline.frames)
    await timeline.speak(interruption)
    paused_after = [f for f in timeline.frames[before:] if f.speaking]
    assert timeline.session.metrics.bargein_latencies, "no barge-in detected"
    assert max(timeline.session.metrics.bargein_latencies) <= 0.4
    # Output stops within a few frames of the VAD's confirmation, long before the question ends.
    assert len(paused_after) < len(interruption) / 16000 * 25 * 0.5
    assert any(e.get("type") == "flush" for e in timeline.events)
    first, second = await first_and_second_answer(timeline)
    assert first.interrupted and first.complete
    assert first.heard_text and len(first.heard_text) < len(first.text)
    assert first.text.startswith(first.heard_text.rstrip("…"))
    assert second.retrieved[0]["key"] == "taxi-stand" and not second.interrupted
    customer_texts = [t.text for t in await saved_turns("customer")]
    assert "taxi" in customer_texts[1].lower()


async def test_a_quiet_customer_is_not_taken_for_echo_but_decided_when_they_stop(demo_kb: None) -> None:
    """Speech at a fifth of the avatar's level may be its echo: output keeps playing while it lasts
    (no pause), and when it ends its words decide: a new question interrupts."""
    timeline = await answering("What are the opening hours of the mall?", 25)
    interruption, _ = speak("Sorry, where is the taxi stand?", "en")
    interruption = interruption * 0.2 * rms(timeline.speaking_audio()) / rms(interruption[np.abs(interruption) > 0.01])
    await timeline.speak(interruption)
    assert timeline.session.metrics.bargein_latencies == []
    first, second = await first_and_second_answer(timeline)
    assert first.interrupted
    assert second.retrieved[0]["key"] == "taxi-stand"


async def test_a_backchannel_does_not_interrupt(demo_kb: None) -> None:
    timeline = await answering("How much does parking cost?", 20)
    okay, _ = speak("okay", "en")
    await timeline.speak(okay)
    await timeline.until_state(State.LISTENING)
    await timeline.close()
    [avatar] = await saved_turns("avatar")
    assert not avatar.interrupted and avatar.heard_text == avatar.text
    assert len(await saved_turns("customer")) == 1


async def test_false_alarms_stop_pausing_the_answer_but_a_question_still_interrupts(demo_kb: None) -> None:
    """Each "okay" pauses the answer and is let go; after the session's allowance, speech no longer
    pauses it (noise must not hold it up without end), but a real question still interrupts."""
    timeline = await answering("Where is the cinema?", 10)
    allowance = timeline.session.config.bargein_false_alarms_per_answer
    okay, _ = speak("okay", "en")
    for _ in range(allowance + 1):
        await timeline.speak(okay)
        await timeline.silence(0.8)
    resumed = [e for e in timeline.events if e.get("type") == "resumed"]
    assert len(timeline.session.metrics.bargein_latencies) == len(resumed) == allowance
    assert timeline.session.state == State.SPEAKING
    speaking_before = len(timeline.speaking_audio())
    interruption, _ = speak("Sorry, where is the taxi stand?", "en")
    await timeline.speak(interruption)
    assert len(timeline.speaking_audio()) > speaking_before  # kept playing while the question was asked
    first, second = await first_and_second_answer(timeline)
    assert first.interrupted
    assert second.retrieved[0]["key"] == "taxi-stand"


@pytest.mark.parametrize("question", ["Is there free wifi here?", "How much is parking?"])
async def test_the_avatars_own_voice_in_the_mic_does_not_interrupt(demo_kb: None, question: str) -> None:
    from avatar_runtime.aec.factory import echo_canceller

    timeline = await answering(question, 0, aec=echo_canceller())
    mic = EchoingMicrophone.from_answer_start(timeline)  # hears the speaker 60 ms late at -12 dB
    await mic.listen_while(lambda: timeline.session.state == State.SPEAKING)
    await timeline.until_state(State.LISTENING)
    await timeline.close()
    [avatar] = await saved_turns("avatar")
    assert not avatar.interrupted
    assert len(await saved_turns("customer")) == 1
    assert timeline.session.metrics.bargein_latencies == []


async def test_a_customer_talking_over_the_avatars_echo_still_interrupts(demo_kb: None) -> None:
    """The echo check must not take a real interruption for echo: here the customer speaks while
    the microphone carries the avatar's voice (at -12 dB, 60 ms late, as above)."""
    from avatar_runtime.aec.factory import echo_canceller

    timeline = await answering("What are the opening hours of the mall?", 0, aec=echo_canceller())
    interruption, _ = speak("Sorry, where is the taxi stand?", "en")
    interruption = np.concatenate([interruption, np.zeros(16000, np.float32)])
    mic = EchoingMicrophone.from_answer_start(timeline)
    await mic.listen_while(lambda: len(timeline.speaking_audio()) < 1.5 * 16000)  # 1.5 s into the answer
    mic.customer_says(interruption)
    await mic.listen_while(lambda: not mic.customer_finished)
    first, second = await first_and_second_answer(timeline)
    assert first.interrupted
    assert second.retrieved[0]["key"] == "taxi-stand"


class BrokenSynthesizer:
    name = "broken"

    async def synthesize(self, text, voice):  # type: ignore[no-untyped-def]
        raise ProviderError("broken", "speaker service down", retryable=False)
        yield  # pragma: no cover


async def test_failing_tts_falls_back_and_the_answer_is_still_spoken(demo_kb: None) -> None:
    from avatar_runtime.factory import VoiceBook, VoiceChoice
    from avatar_runtime.tts.base import Voice
    from avatar_runtime.tts.registry import _BACKENDS

    _BACKENDS["broken"] = lambda models_dir: BrokenSynthesizer()  # a real provider that always fails
    try:
        from django.conf import settings

        voices = VoiceBook({"en": VoiceChoice(Voice("en", "broken", "x"), Voice("en", "espeak", "en-us"))},
                           settings.MODELS_DIR)
        timeline = await build_session(default_language="en", voices=voices)
        fallbacks, turns = _sample("kiosk_fallbacks_total", component="tts", primary="broken", fallback="espeak"), \
            _sample("kiosk_stage_seconds_count", stage="tts_first_audio")
        await timeline.start()
        await ask(timeline, "Where are the restrooms?", "en")
        await timeline.until_state(State.SPEAKING)
        await timeline.until_state(State.LISTENING)
        await timeline.close()
    finally:
        _BACKENDS.pop("broken")
    [avatar] = await saved_turns("avatar")
    assert avatar.complete and not avatar.interrupted and avatar.retrieved[0]["key"] == "restrooms"
    assert len(timeline.speaking_audio()) / 16000 > 1.0
    # What /metrics serves: the switch to the fallback voice, and the turn's stage times.
    assert _sample("kiosk_fallbacks_total", component="tts", primary="broken", fallback="espeak") == fallbacks + 1
    assert _sample("kiosk_stage_seconds_count", stage="tts_first_audio") == turns + 1


def _sample(name: str, **labels: str) -> float:
    from avatar_runtime.metrics import RUNTIME_REGISTRY

    return RUNTIME_REGISTRY.get_sample_value(name, labels) or 0.0


class DeafRecognizer:
    """ASR that hears speech but makes nothing of it (mumbling, a language it cannot read)."""

    name = "deaf"

    def transcribe(self, samples, sample_rate, *, language=None):  # type: ignore[no-untyped-def]
        from avatar_runtime.asr.base import Recognition

        return Recognition(text="", language="", confidence=0.0)


async def test_asr_returning_nothing_gets_a_polite_request_to_repeat(demo_kb: None) -> None:
    timeline = await build_session(default_language="ja", recognizer_override=DeafRecognizer())
    await timeline.start()
    await ask(timeline, "Where are the restrooms?", "en")
    await timeline.until_state(State.SPEAKING)
    await timeline.until_state(State.LISTENING)
    await timeline.close()
    assert await saved_turns() == []
    captions = [e for e in timeline.events if e.get("type") == "caption" and e.get("role") == "avatar"]
    assert captions and "聞き取れません" in str(captions[0]["text"])
    assert len(timeline.speaking_audio()) > 16000 * 0.5


async def test_retrieval_down_declines_politely_instead_of_going_silent(demo_kb: None) -> None:
    def broken_retrieve(query: str, language: str, k: int) -> Retrieved:
        raise ConnectionError("database restarting")

    timeline = await build_session(default_language="en", retrieve_fn=broken_retrieve)
    await timeline.start()
    await ask(timeline, "Where are the restrooms?", "en")
    await timeline.until_state(State.SPEAKING)
    await timeline.until_state(State.LISTENING)
    await timeline.close()
    [avatar] = await saved_turns("avatar")
    assert avatar.answerable is False and "staff" in avatar.text.lower()
    assert any(e.get("type") == "error" and e.get("stage") == "retrieval" for e in timeline.events)
