"""The answer audio cache: FAQ answers spoken ahead of time by the real offline voices, stored in
media storage, and played by the runtime's cached synthesizer without synthesis.

Real parts: the database, media storage, Celery eager (the job runs as the FAQ and voice services
queue it), espeak-ng and Piper, edge-tts against the project's local Edge server.
"""
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage

from avatar_runtime.health import health_registry
from avatar_runtime.llm.phrases import PHRASES, phrase
from avatar_runtime.text.sentences import split_text
from avatar_runtime.tts.answer_cache import CachedSynthesizer, CachedVoices, speech_key
from avatar_runtime.tts.base import Voice, voice_key
from avatar_runtime.tts.registry import FallbackSynthesizer, voice_breakers_reset
from avatars.answer_audio import (
    DjangoSpeechCache,
    answer_audio_sources,
    answer_audio_status,
    answer_audio_store,
    answer_audio_wanted,
)
from avatars.models import AnswerAudio, AnswerAudioState
from avatars.voices import VoiceData, voice_book_from_settings, voice_setting_update
from knowledgebase.models import FaqEntry
from knowledgebase.services import TranslationData, faq_create, faq_update
from tests.avatar_runtime.speech.edge_servers import EdgeTestServer, refused_url

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = "The information desk is on the ground floor. It opens at nine every morning."
SENTENCES = ["The information desk is on the ground floor.", "It opens at nine every morning."]
PHRASE_TEXTS = [t for key in PHRASES for t in (phrase(key, "en"), *split_text(phrase(key, "en")))]
ESPEAK = VoiceData("espeak", "en-us", fallback_backend="espeak", fallback_voice_name="en-us+f3")


@pytest.fixture(autouse=True)
def cache_on(settings: Any, tmp_path: Any, celery_eager: None) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path
    settings.ANSWER_AUDIO_CACHE = True
    settings.AVATAR_TTS_BACKEND = "offline"
    voice_breakers_reset()
    health_registry.clear()
    yield
    voice_breakers_reset()
    health_registry.clear()


def publish(answer: str = ANSWER, voice: VoiceData = ESPEAK) -> FaqEntry:
    voice_setting_update(language="en", data=voice, user=None)
    return faq_create(key="info-desk", translations={"en": TranslationData("Where is the information desk?", answer)},
                      status=FaqEntry.Status.PUBLISHED)


def decoded(row: AnswerAudio) -> np.ndarray:
    with default_storage.open(row.file.name, "rb") as handle:
        samples, rate = sf.read(io.BytesIO(handle.read()), dtype="float32")
    assert rate == 16000
    return samples


async def spoken(voices: CachedVoices, text: str) -> tuple[np.ndarray, CachedSynthesizer]:
    audio, synthesizer, _speakers = await spoken_by(voices, text)
    return audio, synthesizer


async def spoken_by(voices: CachedVoices, text: str) -> tuple[np.ndarray, CachedSynthesizer, set[str]]:
    """The audio, the synthesizer, and the voices its chunks name as their speakers (``backend:name``)."""
    synthesizer, voice = await sync_to_async(voices.synthesizer)("en")
    assert isinstance(synthesizer, CachedSynthesizer)
    chunks = [chunk async for chunk in synthesizer.synthesize(text, voice)]
    assert chunks and all(c.sample_rate == chunks[0].sample_rate for c in chunks)
    return np.concatenate([c.samples for c in chunks]), synthesizer, {voice_key(c.voice or voice) for c in chunks}


async def cached_voices() -> CachedVoices:
    return CachedVoices(await sync_to_async(voice_book_from_settings)(), DjangoSpeechCache())


def stored_files() -> set[str]:
    folders, _ = default_storage.listdir("answer-audio")
    return {f"answer-audio/{folder}/{name}" for folder in folders
            for name in default_storage.listdir(f"answer-audio/{folder}")[1]}


def rows() -> list[AnswerAudio]:
    """The FAQ answers' audio (the fixed phrases' is there too, see ``answer_audio_texts``)."""
    return list(AnswerAudio.objects.exclude(text__in=PHRASE_TEXTS).order_by("voice_name", "text"))


def test_publishing_an_faq_caches_each_sentence_in_the_voice_and_its_fallback() -> None:
    publish()
    stored = rows()
    assert {(r.voice_name, r.text) for r in stored} == {(v, s) for v in ("en-us", "en-us+f3") for s in SENTENCES}
    for row in stored:
        assert row.key == speech_key(Voice("en", "espeak", row.voice_name), row.text)
        assert row.file.name.endswith(f"{row.key}.flac") and row.size == default_storage.size(row.file.name)
        assert len(decoded(row)) / 16000 > 0.8
    status = {s.language: s for s in answer_audio_status()}["en"]
    phrases = AnswerAudio.objects.filter(text__in=PHRASE_TEXTS)
    assert phrases.filter(text=phrase("dont_know", "en"), voice_name="en-us").exists()
    assert (status.entries, status.missing, status.last_error) == (4 + phrases.count(), 0, "")
    assert status.size == sum(r.size for r in AnswerAudio.objects.all())


async def test_a_cached_answer_plays_from_the_cache_and_other_text_is_synthesised_live() -> None:
    await sync_to_async(publish)()
    voices = await cached_voices()
    audio, synthesizer = await spoken(voices, SENTENCES[0])
    assert synthesizer.from_cache and voices.counters.hits == 1 and voices.counters.misses == 0
    row = await AnswerAudio.objects.aget(text=SENTENCES[0], voice_name="en-us")
    assert np.array_equal(audio, decoded(row))
    live, synthesizer = await spoken(voices, "Generated words that no answer contains.")  # an LLM's own sentence
    assert not synthesizer.from_cache and voices.counters.misses == 1 and len(live) > 8000
    assert synthesizer.spoken_by == "espeak"
    assert not await AnswerAudio.objects.filter(text__startswith="Generated").aexists()  # live text is not cached


def test_an_edited_answer_replaces_its_audio_and_the_old_files_are_deleted() -> None:
    entry = publish()
    old = {r.key: r.file.name for r in rows()}
    faq_update(entry=entry, translations={"en": TranslationData("Where is the information desk?",
                                                                "The information desk is on the ground floor. "
                                                                "It opens at ten every morning.")})
    now = {r.text for r in rows()}
    assert now == {SENTENCES[0], "It opens at ten every morning."}
    kept = {r.key for r in rows()} & old.keys()
    assert len(kept) == 2  # the unchanged sentence kept its audio in both voices
    for key, name in old.items():
        if key not in kept:
            assert not AnswerAudio.objects.filter(key=key).exists() and not default_storage.exists(name)


def test_a_voice_change_caches_the_new_voice_and_drops_the_old_one() -> None:
    publish()
    before = {r.key for r in rows()}
    voice_setting_update(language="en", data=VoiceData("espeak", "en-us", rate=1.2, fallback_backend="espeak",
                                                       fallback_voice_name="en-us+f3"), user=None)
    after = rows()
    assert len(after) == 4 and not before & {r.key for r in after}
    assert set(AnswerAudio.objects.values_list("key", flat=True)) == {w.key for w in answer_audio_wanted("en")}
    assert all(default_storage.exists(r.file.name) for r in after)
    assert stored_files() == {r.file.name for r in AnswerAudio.objects.all()}  # nothing of the old voice left


async def test_a_corrupt_cache_file_is_synthesised_live_and_repaired() -> None:
    await sync_to_async(publish)()
    row = await AnswerAudio.objects.aget(text=SENTENCES[1], voice_name="en-us")
    with default_storage.open(row.file.name, "wb") as handle:
        handle.write(b"RIFF garbage, not FLAC")
    voices = await cached_voices()
    audio, synthesizer = await spoken(voices, SENTENCES[1])
    assert not synthesizer.from_cache and len(audio) > 8000 and voices.counters.repairs == 1
    repaired = await AnswerAudio.objects.aget(key=row.key)
    assert len(decoded(repaired)) > 8000
    again, synthesizer = await spoken(voices, SENTENCES[1])
    assert synthesizer.from_cache and np.array_equal(again, decoded(repaired))


async def test_while_edge_is_down_cached_answers_still_play_in_the_edge_voice(settings: Any) -> None:
    settings.AVATAR_TTS_BACKEND = "auto"
    edge = VoiceData("edge", "en-US-JennyNeural", fallback_backend="espeak", fallback_voice_name="en-us+f3")
    async with EdgeTestServer() as server:  # Edge reachable while the job runs
        settings.EDGE_TTS_URL = server.url
        await sync_to_async(publish)(voice=edge)
    stored = [r async for r in AnswerAudio.objects.order_by("text")]
    assert {(r.backend, r.text) for r in stored if r.text in SENTENCES} == {(b, s) for b in ("edge", "espeak")
                                                                             for s in SENTENCES}
    settings.EDGE_TTS_URL = refused_url()  # the outage
    voices = await cached_voices()
    audio, synthesizer, speakers = await spoken_by(voices, SENTENCES[0])
    edge_row = next(r for r in stored if r.backend == "edge" and r.text == SENTENCES[0])
    assert synthesizer.from_cache and np.array_equal(audio, decoded(edge_row))  # Edge's audio, not espeak's
    assert speakers == {"edge:en-US-JennyNeural"}  # cached audio knows whose voice it is
    assert health_registry.get("tts:en") is None  # nothing tried to reach Edge
    _live, synthesizer, speakers = await spoken_by(voices, "A sentence nobody cached.")
    assert not synthesizer.from_cache and isinstance(synthesizer.inner, FallbackSynthesizer)
    assert synthesizer.inner.spoken_by == "espeak"  # Edge really is down for what is not cached
    assert speakers == {"espeak:en-us+f3"}


async def test_a_job_that_cannot_reach_edge_keeps_the_fallback_and_reports_the_error(settings: Any) -> None:
    settings.AVATAR_TTS_BACKEND = "auto"
    settings.EDGE_TTS_URL = refused_url()
    edge = VoiceData("edge", "en-US-JennyNeural", fallback_backend="espeak", fallback_voice_name="en-us+f3")
    await sync_to_async(publish)(voice=edge)
    assert {r.backend async for r in AnswerAudio.objects.all()} == {"espeak"}
    status = {s.language: s for s in await sync_to_async(answer_audio_status)()}["en"]
    assert status.entries == status.missing > 2 and "edge" in status.last_error  # every espeak one, no Edge one
    state = await AnswerAudioState.objects.aget(language="en")
    assert state.last_error_at is not None
    voices = await cached_voices()
    # Edge's audio is missing: the chain tries Edge (refused), and espeak-ng speaks live...
    _audio, synthesizer = await spoken(voices, SENTENCES[0])
    assert not synthesizer.from_cache and synthesizer.spoken_by == "espeak"
    # ...which opens Edge's breaker: from then on the fallback voice's cached audio plays.
    audio, synthesizer, speakers = await spoken_by(voices, SENTENCES[1])
    fallback_row = await AnswerAudio.objects.aget(text=SENTENCES[1], backend="espeak")
    assert synthesizer.from_cache and np.array_equal(audio, decoded(fallback_row))
    assert speakers == {"espeak:en-us+f3"}  # the fallback's cached audio, credited to the fallback


def test_the_sources_of_pre_rendered_answers_follow_the_stored_audio() -> None:
    voice = Voice("en", "espeak", "en-us")
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(24000) / 24000)).astype(np.float32)
    kept = answer_audio_store(voice=voice, text="Kept.", samples=tone, sample_rate=24000)
    gone = answer_audio_store(voice=voice, text="Edited away.", samples=tone, sample_rate=24000)
    gone.delete()
    sources = dict(answer_audio_sources(16000))
    assert set(sources) == {kept.key}
    samples = sources[kept.key]()
    assert len(samples) == pytest.approx(16000, abs=20)  # one second, at the renderer's rate
    assert np.max(np.abs(samples)) == pytest.approx(0.3, abs=0.02)
