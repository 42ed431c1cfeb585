"""A kiosk session answering from the answer audio cache, interrupted by the customer.

Real parts as in ``tests/avatar_runtime/pipeline``: Silero VAD, Whisper, hybrid search over the
demo FAQs, the extractive answerer, the portrait renderer, the Django transcript store; the
English answers come from the cache the job built with the demo's offline English voice (Piper;
Edge, the demo's first voice, is kept out by ``AVATAR_TTS_BACKEND=offline``).
"""
import numpy as np
import pytest
from asgiref.sync import sync_to_async

from avatar_runtime.audio import without_leading_silence
from avatar_runtime.pipeline.session import State
from avatar_runtime.tts.answer_cache import CachedVoices, speech_key
from avatar_runtime.tts.base import voice_key
from avatars.answer_audio import DjangoSpeechCache, answer_audio_refresh
from avatars.models import AnswerAudio
from avatars.voices import voice_book_from_settings
from conversations.models import Turn
from tests.avatar_runtime.pipeline.harness import build_session
from tests.avatars.test_answer_audio import decoded
from tests.speech_samples import speak

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_kb(db: None, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A few of the demo's English FAQs and its English voice (embedding the whole demo KB takes
    minutes on a busy 2-core machine)."""
    import json
    from pathlib import Path

    from avatars.voices import VoiceData, voice_setting_update
    from knowledgebase.models import FaqEntry
    from knowledgebase.services import TranslationData, faq_create

    settings.AVATAR_TTS_BACKEND = "offline"
    settings.MEDIA_ROOT = tmp_path / "media"
    demo = Path(settings.BASE_DIR) / "knowledgebase" / "demo" / "faqs.jsonl"
    for line in demo.read_text().splitlines():
        row = json.loads(line)
        if row["language"] == "en" and row["key"] in ("opening-hours", "taxi-stand", "restrooms", "free-wifi"):
            faq_create(key=row["key"], translations={"en": TranslationData(row["question"], row["answer"],
                                                                           tuple(row["alternates"]))},
                       status=FaqEntry.Status.PUBLISHED)
    voice_setting_update(language="en", data=VoiceData("edge", "en-US-JennyNeural", fallback_backend="piper",
                                                       fallback_voice_name="en_US-joe-medium"), user=None)


async def test_an_answer_from_the_cache_barged_into_keeps_its_position_and_heard_text(small_kb: None) -> None:
    await sync_to_async(answer_audio_refresh)(language="en")
    book = await sync_to_async(voice_book_from_settings)()
    voices = CachedVoices(book, DjangoSpeechCache())
    timeline = await build_session(default_language="en", voices=voices)  # type: ignore[arg-type]
    await timeline.start()
    question, _ = speak("What are the opening hours of the mall?", "en")
    await timeline.silence(0.5)
    await timeline.speak(question)
    await timeline.until_state(State.SPEAKING)
    await timeline.run_until(lambda: len([f for f in timeline.frames if f.speaking]) >= 25)  # ~1 s heard
    interruption, _ = speak("Sorry, where is the taxi stand?", "en")
    await timeline.speak(interruption)
    heard_audio = timeline.speaking_audio()  # the first answer, up to where it stopped
    assert timeline.session.metrics.bargein_latencies, "no barge-in detected"
    await timeline.run_until(lambda: len(timeline.session.metrics.turns) == 2 and
                             timeline.session.state == State.LISTENING)
    await timeline.close()
    first, second = [t async for t in Turn.objects.filter(role="avatar").order_by("conversation__started_at", "index")]
    assert voices.counters.hits >= 2 and voices.counters.misses == 0  # both answers played from the cache
    voice = book.synthesizer("en")[1]
    sentence = first.text.split(". ")[0] + "."
    row = await AnswerAudio.objects.aget(key=speech_key(voice, sentence))
    cached = without_leading_silence(decoded(row), 16000)
    # The customer heard the cached audio itself, from its start: the playback position counts it.
    assert 16000 * 0.8 < len(heard_audio) < len(cached)
    assert np.allclose(heard_audio, cached[:len(heard_audio)], atol=1e-4)
    # ... and the transcript keeps exactly the part of the sentence that was played.
    assert first.interrupted and first.heard_text.endswith("…")
    expected = sentence[:int(len(sentence) * len(heard_audio) / len(cached))]
    assert abs(len(first.heard_text.rstrip("…")) - len(expected)) <= 2
    assert first.text.startswith(first.heard_text.rstrip("…"))
    assert second.retrieved[0]["key"] == "taxi-stand" and not second.interrupted
    # Audio from the cache is credited to the voice whose audio it is (Edge is off here: Piper's).
    assert first.spoken_voice == second.spoken_voice == "piper:en_US-joe-medium" == voice_key(voice)
