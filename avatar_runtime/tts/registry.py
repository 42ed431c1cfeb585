"""Which synthesizer speaks a ``Voice``, the offline voices per language, and the automatic fallback.

Synthesizers are light objects; the models behind them are process-wide lazy singletons in each
backend module, so asking for a synthesizer twice never loads a model twice.
"""
import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from avatar_runtime.errors import ProviderError
from avatar_runtime.tts.base import SpeechChunk, Synthesizer, Voice
from avatar_runtime.tts.espeak_voice import EspeakSynthesizer
from avatar_runtime.tts.kokoro_voice import KokoroSynthesizer
from avatar_runtime.tts.piper_voice import PiperSynthesizer

logger = logging.getLogger(__name__)

_BACKENDS: dict[str, Callable[[Path], Synthesizer]] = {
    "piper": PiperSynthesizer,
    "kokoro": KokoroSynthesizer,
    "espeak": lambda _models_dir: EspeakSynthesizer(),
}

# The best offline voice per language, judged by how well Whisper base understands it. espeak-ng's
# Korean is not understood with any variant, so Korean goes through Kokoro (see kokoro_phonemes).
# Of ~20 espeak-ng variants tried, Mandarin "+f3" is detected as Mandarin 4/4 times against 2/4 for
# the plain pinyin voice, Cantonese "+m1" as Chinese most often.
OFFLINE_VOICES: dict[str, Voice] = {
    "en": Voice("en", "piper", "en_US-joe-medium"),
    "ja": Voice("ja", "kokoro", "jf_alpha"),
    "zh": Voice("zh", "espeak", "cmn-latn-pinyin+f3"),
    "yue": Voice("yue", "espeak", "yue+m1"),
    "ko": Voice("ko", "kokoro", "jf_nezumi"),
}
# espeak-ng needs nothing but its package: the voice of last resort for every language.
ESPEAK_VOICES: dict[str, str] = {"en": "en-us", "ja": "ja", "zh": "cmn-latn-pinyin+f3", "yue": "yue+m1", "ko": "ko"}


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

    A permanent error switches at once; a retryable one gets one retry first (only when the
    primary had not produced audio for the sentence yet). A sentence the primary broke off
    half-way is spoken again whole by the fallback: repeating a few words beats losing them.
    ``spoken_by`` names the synthesizer that spoke the last sentence and ``on_fallback`` hears
    every switch, so the pipeline can surface it; ``reset`` (a new answer) tries the primary again.
    """

    name = "fallback"

    def __init__(
        self,
        primary: Synthesizer,
        fallback: Synthesizer,
        fallback_voice: Voice,
        *,
        retry_delay_s: float = 0.2,
        on_fallback: Callable[[ProviderError], None] | None = None,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.fallback_voice = fallback_voice
        self.retry_delay_s = retry_delay_s
        self.on_fallback = on_fallback
        self.spoken_by = ""
        self.switched = False

    def reset(self) -> None:
        self.switched = False

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        if not self.switched:
            for attempt in (1, 2):
                produced = False
                try:
                    async for chunk in self.primary.synthesize(text, voice):
                        produced = True
                        yield chunk
                    self.spoken_by = self.primary.name
                    return
                except ProviderError as error:
                    if error.retryable and attempt == 1 and not produced:
                        logger.warning("tts %s failed (retryable), retrying once", self.primary.name)
                        await asyncio.sleep(self.retry_delay_s)
                        continue
                    self._switch(error)
                    break
        async for chunk in self.fallback.synthesize(text, self.fallback_voice):
            yield chunk
        self.spoken_by = self.fallback.name

    def _switch(self, error: ProviderError) -> None:
        self.switched = True
        logger.warning("tts %s failed (%s); %s speaks the rest of the answer", self.primary.name,
                       "retryable" if error.retryable else "permanent", self.fallback.name)
        if self.on_fallback is not None:
            self.on_fallback(error)
