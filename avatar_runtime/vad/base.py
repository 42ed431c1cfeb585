"""Voice activity detection on 16 kHz mono audio, streamed in arbitrary-sized chunks."""
from dataclasses import dataclass
from typing import Protocol

from avatar_runtime.pipeline.messages import Samples

VAD_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class VadEvent:
    kind: str  # "start" (speech onset confirmed), "pause" (a short silence in a turn) or "end" (end of turn)
    pts: float  # seconds on the microphone clock: onset time, or the end of speech
    samples: Samples | None = None  # with "pause" and "end": the utterance so far, incl. a little padding
    # With "end": where the voice's level fell away (``pts`` is where the model's speech flag did,
    # which lags the sound); the runtime times its endpointing from here, as a listener would.
    voice_end: float | None = None


class VadStream(Protocol):
    """Per-session detector state; the model behind it may be shared."""

    def push(self, samples: Samples) -> list[VadEvent]: ...

    def reset(self) -> None: ...

    def finish(self, pts: float | None = None) -> VadEvent | None:
        """End the turn in progress at once: its "end" event, or None when no one is speaking
        (with ``pts``: also None when the speech no longer ends at ``pts``)."""
        ...

    @property
    def speaking(self) -> bool: ...
