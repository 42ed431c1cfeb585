"""Audio a kiosk should never send, sent anyway: wrong sample rate, clipping, silence, endless noise.

Real Silero VAD, Whisper, knowledge base, voices and renderer (the pipeline harness); the session
must neither crash nor wedge nor grow without bound, and must still answer the next customer.
"""
import tracemalloc

import numpy as np
import pytest
from channels.db import database_sync_to_async

from avatar_runtime.audio import resample
from avatar_runtime.pipeline.session import State
from avatar_runtime.vad.silero import FRAME, SileroVadStream, VadConfig
from conversations.models import Turn
from tests.avatar_runtime.pipeline.harness import build_session
from tests.speech_samples import RATE, SENTENCES, noise, speak

pytestmark = [pytest.mark.slow]


def _kept_frames(stream: SileroVadStream) -> int:
    return len(stream._frames)  # the buffer that would grow if an utterance were never capped


def test_ten_minutes_of_noise_keep_the_vad_bounded_and_it_still_hears_the_next_question() -> None:
    stream = SileroVadStream()
    cap = stream.config.frames(stream.config.max_utterance_s * 1000) + stream.config.frames(stream.config.pre_roll_ms)
    loud = noise(RATE * 60, -12.0, seed=3)  # one minute of loud white noise, played ten times
    tracemalloc.start()
    longest, ends, kept_max = 0.0, 0, 0
    for _minute in range(10):
        for start in range(0, len(loud), 1600):
            for event in stream.push(loud[start:start + 1600]):
                if event.kind == "end" and event.samples is not None:
                    ends += 1
                    longest = max(longest, len(event.samples) / RATE)
            kept_max = max(kept_max, _kept_frames(stream))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert kept_max <= cap + 2
    assert longest <= stream.config.max_utterance_s + stream.config.pre_roll_ms / 1000 + 0.1
    assert peak < 40 * 2**20, f"{peak / 2**20:.1f} MiB traced while streaming ten minutes"
    question = speak(SENTENCES["en"][1], "en")[0]
    events = stream.push(np.concatenate([np.zeros(RATE, np.float32), question, np.zeros(RATE, np.float32)]))
    turn = [e.kind for e in events if e.kind != "pause"]  # a pause inside the question is fine
    assert turn[-2:] == ["start", "end"], "the VAD is wedged after the noise"


def test_endless_speech_is_cut_into_capped_utterances() -> None:
    """Two voices talking over each other for 45 s leave no pause to end a turn: the cap must."""
    config = VadConfig(max_utterance_s=10.0)
    stream = SileroVadStream(config)
    a = np.concatenate([speak(s, "en")[0] for s in SENTENCES["en"]])
    b = np.concatenate([speak(s, "ja")[0] for s in SENTENCES["ja"]])
    length = RATE * 45
    babble = (np.resize(a, length) + np.resize(np.roll(b, RATE // 3), length)) * 0.5
    utterances = []
    for start in range(0, length, FRAME * 3):
        utterances += [len(e.samples) / RATE for e in stream.push(babble[start:start + FRAME * 3])
                       if e.kind == "end" and e.samples is not None]
        assert _kept_frames(stream) <= config.frames(10_000) + config.frames(config.pre_roll_ms) + 2
    assert len(utterances) >= 3
    assert max(utterances) <= 10.0 + config.pre_roll_ms / 1000 + 0.1


@database_sync_to_async
def customer_turns() -> list[Turn]:
    return list(Turn.objects.filter(role="customer").order_by("created_at"))


@pytest.fixture
def small_kb(transactional_db: None, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Three FAQs (the demo's 150 take minutes to embed on a busy machine)."""
    import json

    from knowledgebase.models import FaqEntry
    from knowledgebase.services import faq_import_file, faq_publish

    settings.MEDIA_ROOT = tmp_path / "media"
    rows = [{"key": "restrooms", "language": "en", "question": "Where are the toilets?",
             "answer": "The toilets are next to the lifts on every floor."},
            {"key": "parking", "language": "en", "question": "How much does parking cost?",
             "answer": "Parking costs 20 dollars an hour."},
            {"key": "wifi", "language": "en", "question": "Is there free wifi?", "answer": "Yes, join Mall-Free."}]
    faq_import_file(content="\n".join(json.dumps(r) for r in rows).encode(), filename="faqs.jsonl")
    for entry in FaqEntry.objects.all():
        faq_publish(entry=entry)


@pytest.mark.django_db(transaction=True)
async def test_wrong_rate_clipped_and_silent_audio_neither_crash_nor_wedge_the_session(small_kb: None) -> None:
    timeline = await build_session(default_language="en")
    await timeline.start()
    session = timeline.session
    question = speak("Where can I find a toilet?", "en")[0]

    # 48 kHz audio sent as if it were 16 kHz: a three times slower, deeper voice.
    await timeline.speak(np.concatenate([np.zeros(RATE // 2, np.float32), resample(question, RATE, 48000)]))
    await timeline.run_until(lambda: session.state == State.LISTENING and session.turn_finished.is_set(), limit=60)
    # Clipped: ten times too loud, flattened at full scale.
    session.turn_finished.clear()
    await timeline.speak(np.clip(np.concatenate([np.zeros(RATE // 2, np.float32), question * 10]), -1, 1))
    await timeline.run_until(lambda: session.turn_finished.is_set() and session.state == State.LISTENING, limit=60)
    # Twenty seconds of digital silence: no turn, nothing said.
    before = len(await customer_turns())
    session.turn_finished.clear()
    await timeline.silence(20.0)
    assert not session.turn_finished.is_set()
    assert len(await customer_turns()) == before
    await timeline.close()

    turns = await customer_turns()
    assert len(turns) >= 1  # the clipped question was heard and stored (the slowed one may be "not heard")
    assert "toilet" in turns[-1].text.lower()
