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


async def utterance_synthesize(synthesizer: Synthesizer, text: str, voice: Voice) -> Utterance:
    """All of ``text`` spoken by ``synthesizer`` as ``voice``; raises ``ProviderError`` when no voice could.

    The voice is the one the chunks name (``SpeechChunk.voice``): a fallback's once its primary
    failed, the one that spoke most of the text when a fallback took over part-way.
    """
    started = time.perf_counter()
    first_audio: float | None = None
    pieces: list[Samples] = []
    spoken: dict[Voice, int] = {}
    rate = 0
    async for chunk in synthesizer.synthesize(text, voice):
        if first_audio is None:
            first_audio = time.perf_counter() - started
        rate = rate or chunk.sample_rate  # a fallback that took over mid-way may speak at another rate
        pieces.append(resample(chunk.samples, chunk.sample_rate, rate))
        speaker = chunk.voice or voice
        spoken[speaker] = spoken.get(speaker, 0) + len(pieces[-1])
    synthesis = time.perf_counter() - started
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Utterance(samples, rate or 16000, max(spoken, key=spoken.__getitem__, default=voice),
                     synthesis if first_audio is None else first_audio, synthesis)
