"""Which synthesizer speaks a ``Voice``, the offline voices per language, and the automatic fallback.

Synthesizers are light objects; the models behind them are process-wide lazy singletons in each
backend module, so asking for a synthesizer twice never loads a model twice.
"""
import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

from avatar_runtime.errors import ProviderError
from avatar_runtime.health import HealthTracker
from avatar_runtime.metrics import FALLBACKS
from avatar_runtime.tts.base import SpeechChunk, Synthesizer, Voice
from avatar_runtime.tts.espeak_voice import EspeakSynthesizer
from avatar_runtime.tts.kokoro_voice import KokoroSynthesizer
from avatar_runtime.tts.piper_voice import PiperSynthesizer

logger = logging.getLogger(__name__)

_BACKENDS: dict[str, Callable[[Path], Synthesizer]] = {
    "edge": lambda _models_dir: _edge_synthesizer(),
    "piper": PiperSynthesizer,
    "kokoro": KokoroSynthesizer,
    "espeak": lambda _models_dir: EspeakSynthesizer(),
}

# The best offline voice per language, judged by how well Whisper base understands it
# (bench/voice_intelligibility.py). espeak-ng's Korean is not understood with any variant, and its
# Mandarin hardly (CER 0.88 on the demo answers), so both go through Kokoro (see kokoro_phonemes).
# Mandarin: of Kokoro's Mandarin styles, zf_xiaobei was heard best on the first 8 demo answers
# (CER 0.180; zm_yunxi 0.193, zf_xiaoxiao 0.213, zf_xiaoni 0.613, the Japanese jf_gongitsune 0.268).
# Cantonese: Kokoro has no Cantonese voice and Whisper base no Cantonese; a Mandarin style reading
# canto-hk-g2p's IPA (cantonese_phonemes) is heard as Chinese, in part word for word, where
# espeak-ng's Cantonese is taken for English and heard as nothing (CER 0.99).
# Of ~20 espeak-ng variants tried, Mandarin "+f3" is detected as Mandarin 4/4 times against 2/4 for
# the plain pinyin voice, Cantonese "+m1" as Chinese most often.
OFFLINE_VOICES: dict[str, Voice] = {
    "en": Voice("en", "piper", "en_US-joe-medium"),
    "ja": Voice("ja", "kokoro", "jf_alpha"),
    "zh": Voice("zh", "kokoro", "zf_xiaobei"),
    "yue": Voice("yue", "kokoro", "zf_xiaobei"),
    "ko": Voice("ko", "kokoro", "jf_nezumi"),
}
# espeak-ng needs nothing but its package: the voice of last resort for every language.
ESPEAK_VOICES: dict[str, str] = {"en": "en-us", "ja": "ja", "zh": "cmn-latn-pinyin+f3", "yue": "yue+m1", "ko": "ko"}


# A network voice's circuit breaker, per language: down at its first failure (every failure costs
# the customer a detection delay), probed again by one sentence every TTS_RETRY_AFTER_S.
TTS_RETRY_AFTER_S = 30.0
_breakers: dict[tuple[str, str], HealthTracker] = {}


def _edge_synthesizer() -> Synthesizer:
    from avatar_runtime.tts.edge_voice import EdgeSynthesizer  # edge-tts and aiohttp: only when used

    return EdgeSynthesizer()


def voice_breaker(voice: Voice, fallback: Voice) -> HealthTracker:
    """The process-wide breaker of ``voice``'s backend in its language; reports as ``tts:<language>``."""
    key = (voice.language, voice.backend)
    if key not in _breakers:
        _breakers[key] = HealthTracker(window=10, down_after=1, retry_after=TTS_RETRY_AFTER_S,
                                       component=f"tts:{voice.language}", backend=voice.backend,
                                       fallback=fallback.backend)
    return _breakers[key]


def synthesizer_for(voice: Voice, models_dir: Path) -> Synthesizer:
    factory = _BACKENDS.get(voice.backend)
    if factory is None:
        raise ProviderError(
            voice.backend, f"no TTS backend {voice.backend!r} in this build (have: {', '.join(sorted(_BACKENDS))})",
            retryable=False,
        )
    return factory(models_dir)


def espeak_voice_for(voice: Voice) -> Voice:
    """The espeak-ng voice for ``voice``'s language, keeping its rate and pitch."""
    return Voice(voice.language, "espeak", ESPEAK_VOICES.get(voice.language, "en-us"), voice.rate, voice.pitch)


class FallbackSynthesizer:
    """Speaks with the primary synthesizer; when it fails, the rest of the answer uses the fallback.

    A permanent error switches at once; a retryable one is retried (``attempts`` in all, only
    while the primary has not produced audio for the sentence yet). A sentence the primary broke
    off half-way is spoken again *from its start* by the fallback: the sentence is the unit the
    answerer hands over, and repeating a few words in the new voice beats losing or garbling them.

    ``health`` (a :class:`HealthTracker`, shared by every answer of the process) is the primary's
    circuit breaker: while it is down, sentences go straight to the fallback, and one sentence
    every ``retry_after`` seconds probes the primary again. ``spoken_by`` names the synthesizer
    that spoke the last sentence and ``on_fallback`` hears every switch, so the pipeline can
    surface it; ``reset`` (a new answer) tries the primary again. Every chunk names the voice
    that spoke it (``SpeechChunk.voice``), the fallback's too.
    """

    name = "fallback"

    def __init__(
        self,
        primary: Synthesizer,
        fallback: Synthesizer,
        fallback_voice: Voice,
        *,
        retry_delay_s: float = 0.2,
        attempts: int = 2,
        health: HealthTracker | None = None,
        on_fallback: Callable[[ProviderError], None] | None = None,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.fallback_voice = fallback_voice
        self.retry_delay_s = retry_delay_s
        self.attempts = attempts
        self.health = health
        self.on_fallback = on_fallback
        self.spoken_by = ""
        self.switched = False

    def reset(self) -> None:
        self.switched = False

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        if not self.switched and self.health is not None and not self.health.should_try():
            self.switched = True  # the primary is down: this answer stays on the fallback
        if not self.switched:
            for attempt in range(1, self.attempts + 1):
                produced = False
                try:
                    async for chunk in self.primary.synthesize(text, voice):
                        produced = True
                        yield chunk if chunk.voice is not None else replace(chunk, voice=voice)
                    self._record(None)
                    self.spoken_by = self.primary.name
                    return
                except ProviderError as error:
                    self._record(error)
                    if error.retryable and attempt < self.attempts and not produced:
                        logger.warning("tts %s failed (retryable), retrying", self.primary.name)
                        await asyncio.sleep(self.retry_delay_s)
                        continue
                    self._switch(error)
                    break
        async for chunk in self.fallback.synthesize(text, self.fallback_voice):
            yield chunk if chunk.voice is not None else replace(chunk, voice=self.fallback_voice)
        self.spoken_by = getattr(self.fallback, "spoken_by", "") or self.fallback.name

    def _record(self, error: ProviderError | None) -> None:
        if self.health is not None:
            self.health.record(error is None, str(error) if error is not None else "")

    def _switch(self, error: ProviderError) -> None:
        self.switched = True
        FALLBACKS.labels("tts", self.primary.name, self.fallback.name).inc()
        logger.warning("tts %s failed (%s); %s speaks the rest of the answer", self.primary.name,
                       "retryable" if error.retryable else "permanent", self.fallback.name)
        if self.on_fallback is not None:
            self.on_fallback(error)


def voice_breakers_reset() -> None:
    """Forget every network voice's failures (tests; an operator's "retry now")."""
    _breakers.clear()
