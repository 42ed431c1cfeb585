"""Knowledge-base answers spoken from stored audio instead of being synthesised again.

An FAQ answer is known before anyone asks, so a background job (``avatars.answer_audio``) speaks
each of its sentences ahead of time with the language's voice and its offline fallback, and
stores the audio under a key that names everything that shaped it (:func:`speech_key`). At answer
time :class:`CachedSynthesizer` plays a sentence from that store when it has it, with no
synthesis at all; anything else (an LLM's own words, an entry not cached yet) goes to the live
voice chain as before.

The runtime sees the store only through :class:`SpeechCache` (the composition root passes the
Django-backed one in), so the cache's sentences must be cut exactly as the answerers cut them:
both use ``avatar_runtime.text.sentences.split_text``.
"""
import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from avatar_runtime.health import Health
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.pipeline.session_config import VoiceSource
from avatar_runtime.render.base import RENDER_SAMPLE_RATE
from avatar_runtime.tts.base import SpeechChunk, Synthesizer, Voice
from avatar_runtime.tts.registry import FallbackSynthesizer
from avatar_runtime.tts.streaming import chunks_of

logger = logging.getLogger(__name__)

# Cached audio is stored at the rate the pipeline plays (the renderer's), so a hit needs no resampling.
CACHE_SAMPLE_RATE = RENDER_SAMPLE_RATE


def speech_key(voice: Voice, text: str) -> str:
    """The content address of ``text`` spoken by ``voice``: backend, voice name, rate, pitch,
    language and the exact text. Any change to one of them is another key (the old audio is
    simply no longer asked for, and the cache job deletes it)."""
    identity = [voice.backend, voice.name, round(voice.rate, 4), round(voice.pitch, 4), voice.language, text]
    return hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class CachedSpeech:
    samples: Samples
    sample_rate: int


@dataclass(frozen=True)
class SpeechLookup:
    """A lookup's outcome: the audio, or none; ``broken`` when an entry exists but its audio
    could not be read (a missing or corrupt file), which live synthesis should repair."""

    speech: CachedSpeech | None = None
    broken: bool = False


class SpeechCache(Protocol):
    def lookup(self, voice: Voice, text: str) -> SpeechLookup:
        """The stored audio of ``text`` in ``voice`` (blocking: storage and database)."""
        ...

    def repair(self, voice: Voice, text: str, samples: Samples, sample_rate: int) -> None:
        """Store freshly synthesised audio for a broken entry (blocking)."""
        ...


@dataclass
class CacheCounters:
    hits: int = 0
    misses: int = 0
    repairs: int = 0


def _primary_down(synthesizer: Synthesizer) -> bool:
    """Whether the chain's first voice will not speak the next sentence (failed in this answer, or its breaker is open)."""
    if not isinstance(synthesizer, FallbackSynthesizer):
        return False
    return synthesizer.switched or (synthesizer.health is not None and synthesizer.health.state is Health.DOWN)


def _spoke_as(synthesizer: Synthesizer, voice: Voice) -> bool:
    """Whether ``voice`` (the chain's first) spoke the last sentence, not one of its fallbacks."""
    if isinstance(synthesizer, FallbackSynthesizer):
        return synthesizer.spoken_by == synthesizer.primary.name
    return True


class CachedSynthesizer:
    """A voice chain with the answer audio cache in front of it.

    A sentence whose audio is cached for the chain's first voice plays from the cache, even while
    that voice's service is down (an Edge outage still plays cached answers in the Edge voice).
    When only the fallback voice's audio is cached and the first voice is down, that plays. Else
    the chain synthesises live; when the cache had a broken entry for the sentence, the live audio
    (if the first voice spoke it) replaces it.
    """

    name = "cache"

    def __init__(self, inner: Synthesizer, cache: SpeechCache, counters: CacheCounters | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self.counters = counters or CacheCounters()
        self.spoken_by = ""
        self.from_cache = False  # the last sentence came from the cache

    async def _lookup(self, voice: Voice, text: str) -> SpeechLookup:
        try:
            return await asyncio.to_thread(self.cache.lookup, voice, text)
        except Exception as exc:  # noqa: BLE001 - a cache that fails is a miss, never a silent avatar
            logger.warning("answer audio cache lookup failed: %s", type(exc).__name__)
            return SpeechLookup()

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        found = await self._lookup(voice, text)
        speech, speaker = found.speech, voice
        fallback = self.inner.fallback_voice if isinstance(self.inner, FallbackSynthesizer) else None
        if speech is None and fallback is not None and _primary_down(self.inner):
            speech, speaker = (await self._lookup(fallback, text)).speech, fallback
        if speech is not None:
            self.counters.hits += 1
            self.from_cache = True
            self.spoken_by = "cache"
            key = speech_key(speaker, text)
            for chunk in chunks_of(speech.samples, speech.sample_rate):
                yield replace(chunk, voice=speaker, cached_key=key)  # the voice whose audio was cached
            return
        self.counters.misses += 1
        self.from_cache = False
        pieces: list[SpeechChunk] = []
        async for chunk in self.inner.synthesize(text, voice):
            if found.broken:
                pieces.append(chunk)
            yield chunk
        self.spoken_by = getattr(self.inner, "spoken_by", "") or self.inner.name
        if found.broken and pieces and _spoke_as(self.inner, voice):
            await self._repair(voice, text, pieces)

    async def _repair(self, voice: Voice, text: str, pieces: list[SpeechChunk]) -> None:
        from avatar_runtime.audio import resample

        samples = np.concatenate([resample(p.samples, p.sample_rate, CACHE_SAMPLE_RATE) for p in pieces])
        try:
            await asyncio.to_thread(self.cache.repair, voice, text, samples, CACHE_SAMPLE_RATE)
            self.counters.repairs += 1
        except Exception as exc:  # noqa: BLE001 - the sentence was spoken; the cache job repairs it later
            logger.warning("answer audio cache repair failed: %s", type(exc).__name__)


class CachedVoices:
    """A voice source whose synthesizers look in the answer audio cache first (``SessionBackends.voices``)."""

    def __init__(self, inner: VoiceSource, cache: SpeechCache) -> None:
        self.inner = inner
        self.cache = cache
        self.counters = CacheCounters()

    def synthesizer(self, language: str) -> tuple[Synthesizer, Voice]:
        synthesizer, voice = self.inner.synthesizer(language)
        return CachedSynthesizer(synthesizer, self.cache, self.counters), voice
