"""The answer audio cache: knowledge-base answers spoken ahead of time, played without synthesis.

Every sentence of every published FAQ answer (cut by the runtime's own splitter, as the answerers
cut it), and the avatar's fixed phrases, is spoken by the language's voice and by its offline fallback, and stored as FLAC at the
pipeline's rate in media storage under its content address (``speech_key``: backend, voice,
rate, pitch, language, exact text). ``answer_audio_refresh`` is the job: idempotent (what is
stored is skipped), it deletes the audio nothing asks for any more (an edited answer, a changed
voice), and keeps the cache under ``ANSWER_AUDIO_CACHE_MAX_BYTES`` by evicting the least recently
played entries. While Edge is reachable the Edge voice's audio is what it stores, so an outage
still plays cached answers in the production voice; sentences a voice could not speak stay
missing, with the error kept for the console, and the job is retried.

``DjangoSpeechCache`` is the runtime's ``SpeechCache`` over this store (``kiosk.session_factory``
hands it to the session). ``answer_audio_sources`` lists the stored audio for the MuseTalk frames
rendered ahead (``avatar_runtime.render.musetalk.prerender.prerender_answers``), which follow it.
"""
import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from avatar_runtime.audio import resample
from avatar_runtime.errors import ProviderError
from avatar_runtime.factory import NETWORK_BACKENDS, VoiceBook
from avatar_runtime.llm.phrases import PHRASES, phrase
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.text.sentences import split_text
from avatar_runtime.tts.answer_cache import CACHE_SAMPLE_RATE, CachedSpeech, SpeechLookup, speech_key
from avatar_runtime.tts.base import Voice
from avatar_runtime.tts.registry import synthesizer_for
from avatar_runtime.tts.utterance import utterance_synthesize
from avatars.models import AnswerAudio, AnswerAudioState
from avatars.voices import voice_book_from_settings
from common.languages import KIOSK_LANGUAGES
from knowledgebase.selectors import faq_published_answers

log = logging.getLogger(__name__)
Report = Callable[[float, str], None]


@dataclass(frozen=True)
class WantedAudio:
    voice: Voice
    text: str
    key: str


@dataclass
class RefreshReport:
    made: int = 0
    kept: int = 0
    removed: int = 0
    evicted: int = 0
    missing: int = 0
    errors: list[str] = field(default_factory=list)
    network_failed: bool = False  # a network voice (Edge) failed: worth another try later


@dataclass(frozen=True)
class LanguageCacheStatus:
    language: str
    entries: int
    missing: int
    size: int
    last_built_at: object
    last_error: str
    last_error_at: object
    progress: dict[str, object] | None


def answer_audio_path(key: str) -> str:
    return f"answer-audio/{key[:2]}/{key}.flac"


def answer_audio_progress_key(language: str) -> str:
    return f"answer_audio:{language}:progress"


def answer_audio_texts(language: str) -> list[str]:
    """What the avatar may say word for word in ``language``: each sentence of the published FAQ
    answers, and its fixed phrases (whole, as a turn speaks them, and by sentence, as the
    extractive answerer does: "I don't know" is as common an answer as any), once the knowledge
    base has answers in ``language``."""
    answers = faq_published_answers(language)
    if not answers:  # a language the knowledge base does not speak (yet): nothing to cache
        return []
    fixed = [phrase(key, language) for key in PHRASES]
    pieces = [*(s for answer in answers for s in split_text(answer)),
              *fixed, *(s for text in fixed for s in split_text(text))]
    return list(dict.fromkeys(pieces))


def answer_audio_wanted(language: str, book: VoiceBook | None = None) -> list[WantedAudio]:
    """Every (voice, text) the cache should hold for ``language``."""
    book = book or voice_book_from_settings()
    sentences = answer_audio_texts(language)
    return [WantedAudio(voice, text, speech_key(voice, text)) for voice in book.cached_voices(language)
            for text in sentences]


def _flac(samples: Samples, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, resample(samples, sample_rate, CACHE_SAMPLE_RATE), CACHE_SAMPLE_RATE, format="FLAC",
             subtype="PCM_16")
    return buffer.getvalue()


def answer_audio_store(*, voice: Voice, text: str, samples: Samples, sample_rate: int) -> AnswerAudio:
    """Store ``text`` spoken by ``voice`` (replacing a broken file under the same key)."""
    key = speech_key(voice, text)
    data = _flac(samples, sample_rate)
    name = answer_audio_path(key)
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    row, _created = AnswerAudio.objects.update_or_create(key=key, defaults={
        "language": voice.language, "backend": voice.backend, "voice_name": voice.name, "text": text,
        "file": saved, "size": len(data), "seconds": len(samples) / sample_rate, "last_used_at": timezone.now(),
    })
    return row


def _delete(rows: list[AnswerAudio]) -> int:
    for row in rows:
        if row.file.name:
            default_storage.delete(row.file.name)
    AnswerAudio.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)


def answer_audio_evict(*, max_bytes: int | None = None) -> int:
    """Delete the least recently played entries until the cache fits ``max_bytes``; how many went."""
    limit = settings.ANSWER_AUDIO_CACHE_MAX_BYTES if max_bytes is None else max_bytes
    total = AnswerAudio.objects.aggregate(total=Sum("size"))["total"] or 0
    victims: list[AnswerAudio] = []
    for row in AnswerAudio.objects.order_by("last_used_at", "id").iterator():
        if total <= limit:
            break
        victims.append(row)
        total -= row.size
    return _delete(victims)


def _speak(voice: Voice, text: str) -> tuple[Samples, int]:
    """``text`` spoken by ``voice`` alone (no fallback: a failure must not be stored as this voice)."""
    synthesizer = synthesizer_for(voice, Path(settings.MODELS_DIR))
    utterance = asyncio.run(utterance_synthesize(synthesizer, text, voice))
    if not len(utterance.samples):
        raise ProviderError(voice.backend, "no audio", retryable=True)
    return utterance.samples, utterance.sample_rate


def answer_audio_refresh(*, language: str, report: Report | None = None) -> RefreshReport:
    """Bring ``language``'s cached answers up to date (idempotent; blocking: a background job)."""
    result = RefreshReport()
    wanted = answer_audio_wanted(language)
    present = set(AnswerAudio.objects.filter(language=language).values_list("key", flat=True))
    todo = [item for item in wanted if item.key not in present]
    result.kept = len(wanted) - len(todo)
    failed_voices: dict[Voice, str] = {}
    for done, item in enumerate(todo):
        if report is not None:
            report(done / max(1, len(todo)), f"{item.voice.backend}:{item.voice.name}")
        if item.voice in failed_voices:  # a voice that is down fails every sentence: don't wait for each
            result.missing += 1
            continue
        try:
            samples, rate = _speak(item.voice, item.text)
        except ProviderError as exc:
            failed_voices[item.voice] = f"{item.voice.backend}:{item.voice.name}: {exc}"
            result.network_failed |= item.voice.backend in NETWORK_BACKENDS
            result.missing += 1
            continue
        answer_audio_store(voice=item.voice, text=item.text, samples=samples, sample_rate=rate)
        result.made += 1
    wanted_keys = {item.key for item in wanted}
    result.removed = _delete(list(AnswerAudio.objects.filter(language=language).exclude(key__in=wanted_keys)))
    result.evicted = answer_audio_evict()
    result.errors = list(failed_voices.values())
    _state_record(language, result)
    if report is not None:
        report(1.0, "done")
    return result


def _state_record(language: str, result: RefreshReport) -> None:
    now = timezone.now()
    state, _ = AnswerAudioState.objects.get_or_create(language=language)
    state.last_built_at = now
    if result.errors:
        state.last_error, state.last_error_at = "; ".join(result.errors)[:2000], now
    else:
        state.last_error = ""
    state.save()


def answer_audio_failed(*, language: str, message: str) -> None:
    """Record a job that gave up (retries exhausted) for the console."""
    AnswerAudioState.objects.update_or_create(language=language, defaults={
        "last_error": message[:2000], "last_error_at": timezone.now()})


def answer_audio_enqueue(*, languages: list[str] | None = None) -> None:
    """Refresh the cache of ``languages`` (every language by default) after the current commit."""
    if not settings.ANSWER_AUDIO_CACHE:
        return
    from avatars.tasks import answer_audio_refresh_task
    from common.jobs import enqueue

    def send() -> None:
        for language in languages or list(KIOSK_LANGUAGES):
            cache.set(answer_audio_progress_key(language), {"fraction": 0.0, "stage": "queued"}, timeout=3600)
            try:
                enqueue(answer_audio_refresh_task, language)
            except Exception as exc:  # noqa: BLE001 - the broker is down: the console shows what is missing
                log.warning("answer audio: could not queue the %s refresh: %s", language, type(exc).__name__)

    transaction.on_commit(send)


def answer_audio_status() -> list[LanguageCacheStatus]:
    """Per language: the sentences cached and missing, their bytes, the last job's outcome and progress."""
    book = voice_book_from_settings()
    states = {s.language: s for s in AnswerAudioState.objects.all()}
    rows: list[LanguageCacheStatus] = []
    for language in KIOSK_LANGUAGES:
        wanted = {item.key for item in answer_audio_wanted(language, book)}
        present = dict(AnswerAudio.objects.filter(language=language).values_list("key", "size"))
        state = states.get(language)
        progress = cache.get(answer_audio_progress_key(language))
        rows.append(LanguageCacheStatus(
            language=language, entries=len(wanted & present.keys()), missing=len(wanted - present.keys()),
            size=sum(present.values()), last_built_at=state.last_built_at if state else None,
            last_error=state.last_error if state else "", last_error_at=state.last_error_at if state else None,
            progress=progress if isinstance(progress, dict) and progress.get("stage") != "done" else None,
        ))
    return rows


def _read(name: str, sample_rate: int) -> Samples:
    with default_storage.open(name, "rb") as handle:
        samples, rate = sf.read(io.BytesIO(handle.read()), dtype="float32", always_2d=False)
    return resample(np.asarray(samples, np.float32), int(rate), sample_rate)


def answer_audio_sources(sample_rate: int) -> Iterator[tuple[str, Callable[[], Samples]]]:
    """Every stored answer audio's key, most recently played first, with a loader of its samples at
    ``sample_rate`` (read only when called: frames already rendered need no audio)."""
    for row in AnswerAudio.objects.only("key", "file").order_by("-last_used_at").iterator():
        yield row.key, partial(_read, row.file.name, sample_rate)


class DjangoSpeechCache:
    """The runtime's ``SpeechCache`` over ``AnswerAudio`` rows and their files (blocking calls)."""

    def lookup(self, voice: Voice, text: str) -> SpeechLookup:
        row = AnswerAudio.objects.filter(key=speech_key(voice, text)).only("id", "key", "file", "last_used_at").first()
        if row is None:
            return SpeechLookup()
        try:
            with default_storage.open(row.file.name, "rb") as handle:
                samples, rate = sf.read(io.BytesIO(handle.read()), dtype="float32", always_2d=False)
        except (OSError, RuntimeError, ValueError) as exc:  # soundfile's errors are RuntimeErrors
            log.warning("answer audio %s unreadable (%s): live synthesis repairs it", row.key[:12], type(exc).__name__)
            return SpeechLookup(broken=True)
        if rate != CACHE_SAMPLE_RATE or samples.ndim != 1 or not len(samples):
            return SpeechLookup(broken=True)
        now = timezone.now()
        if (now - row.last_used_at).total_seconds() > 60:  # the LRU order needs no finer grain than a minute
            AnswerAudio.objects.filter(pk=row.pk).update(last_used_at=now)
        return SpeechLookup(CachedSpeech(np.asarray(samples, np.float32), int(rate)))

    def repair(self, voice: Voice, text: str, samples: Samples, sample_rate: int) -> None:
        answer_audio_store(voice=voice, text=text, samples=samples, sample_rate=sample_rate)
        answer_audio_evict()
