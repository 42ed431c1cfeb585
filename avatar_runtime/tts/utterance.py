"""A whole text spoken through a voice chain, with the timings a listener would notice.

The ``speak`` command and the voice benchmark both need the audio of a complete text, the voice
that really spoke it (the offline one when a network voice failed), how long the first audio took
and how fast synthesis ran against playback.
"""
import time
from dataclasses import dataclass

import numpy as np

from avatar_runtime.audio import resample
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.tts.base import Synthesizer, Voice
from avatar_runtime.tts.registry import FallbackSynthesizer


@dataclass(frozen=True)
class Utterance:
    samples: Samples
    sample_rate: int
    voice: Voice  # the voice that spoke the text
    first_audio_s: float  # from the request to the first chunk
    synthesis_s: float  # from the request to the last chunk

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def real_time_factor(self) -> float:
        """Synthesis time per second of speech (< 1: faster than it plays)."""
        return self.synthesis_s / self.seconds if self.seconds else float("inf")


def speaking_voice(synthesizer: Synthesizer, voice: Voice) -> Voice:
    """The voice of the chain that spoke the last text (a fallback's once its primary failed)."""
    while isinstance(synthesizer, FallbackSynthesizer) and synthesizer.spoken_by != synthesizer.primary.name:
        voice = synthesizer.fallback_voice
        synthesizer = synthesizer.fallback
    return voice


async def utterance_synthesize(synthesizer: Synthesizer, text: str, voice: Voice) -> Utterance:
    """All of ``text`` spoken by ``synthesizer`` as ``voice``; raises ``ProviderError`` when no voice could."""
    started = time.perf_counter()
    first_audio: float | None = None
    pieces: list[Samples] = []
    rate = 0
    async for chunk in synthesizer.synthesize(text, voice):
        if first_audio is None:
            first_audio = time.perf_counter() - started
        rate = rate or chunk.sample_rate  # a fallback that took over mid-way may speak at another rate
        pieces.append(resample(chunk.samples, chunk.sample_rate, rate))
    synthesis = time.perf_counter() - started
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Utterance(samples, rate or 16000, speaking_voice(synthesizer, voice),
                     synthesis if first_audio is None else first_audio, synthesis)
