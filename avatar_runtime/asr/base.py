"""Speech recognition: one utterance in, text + language + confidence out."""
from dataclasses import dataclass, field
from typing import Protocol

from avatar_runtime.pipeline.messages import Samples


@dataclass(frozen=True)
class Recognition:
    text: str
    language: str  # kiosk language code, or "" when unknown
    confidence: float  # 0..1
    language_probabilities: dict[str, float] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)  # e.g. emotion, audio events (SenseVoice)
    # The recogniser has no Cantonese of its own (Whisper before large-v3): its "zh" means
    # "Chinese, Mandarin or Cantonese", which the language policy settles from the session.
    cantonese_as_zh: bool = False


class Recognizer(Protocol):
    name: str

    def transcribe(self, samples: Samples, sample_rate: int, *, language: str | None = None) -> Recognition:
        """Blocking; the pipeline runs it in a worker thread. ``language`` forces the language."""
        ...
