"""Text to speech: one sentence in, audio chunks out, with the voice configured per language."""
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from avatar_runtime.pipeline.messages import Samples


@dataclass(frozen=True)
class Voice:
    language: str  # kiosk language code
    backend: str  # "edge", "piper", "kokoro", "espeak"
    name: str  # backend-specific voice id
    rate: float = 1.0  # 1.0 = normal speed
    pitch: float = 0.0  # semitones


@dataclass(frozen=True)
class SpeechChunk:
    samples: Samples
    sample_rate: int
    # The voice that spoke it; None: the voice the synthesizer was asked for. A fallback chain
    # names its fallback's chunks, so the transcript and QA know who actually spoke.
    voice: Voice | None = None
    # The answer audio cache's key (``answer_cache.speech_key``) when the chunk is part of cached
    # audio: a renderer may hold frames rendered ahead for it (``render.base.RendersAhead``).
    cached_key: str | None = None


def voice_key(voice: Voice) -> str:
    """How transcripts and lip-sync QA name a voice: ``backend:name``."""
    return f"{voice.backend}:{voice.name}"


class Synthesizer(Protocol):
    name: str

    def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        """Stream speech for ``text``; raises ``ProviderError`` when the backend fails."""
        ...
