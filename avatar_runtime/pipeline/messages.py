"""Typed messages that flow between the stages of a kiosk session (pipecat-style frames).

Audio is float32 mono in [-1, 1] as numpy arrays; every timed message carries ``pts``, seconds
on the session's output audio clock (the master clock), or on the microphone clock for input.
"""
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]  # H x W x 3, RGB


class Priority(int, Enum):
    """Urgent control messages jump the queue; data waits its turn and is dropped on interruption."""

    URGENT = 0
    DATA = 1


@dataclass(frozen=True)
class Message:
    priority = Priority.DATA


@dataclass(frozen=True)
class AudioIn(Message):
    """Microphone audio from the kiosk (after transport decoding)."""

    samples: Samples
    sample_rate: int
    pts: float


@dataclass(frozen=True)
class SpeechStarted(Message):
    priority = Priority.URGENT
    pts: float


@dataclass(frozen=True)
class SpeechStopped(Message):
    """End of the customer's turn: the speech segment, ready for ASR."""

    priority = Priority.URGENT
    pts: float
    samples: Samples
    sample_rate: int


@dataclass(frozen=True)
class Transcript(Message):
    text: str
    language: str  # kiosk language code (zh, yue, en, ja, ko)
    confidence: float
    extras: dict[str, str] = field(default_factory=dict)  # emotion, audio events, ...


@dataclass(frozen=True)
class AnswerText(Message):
    """A chunk of the answer's text, in order; ``final`` closes the answer."""

    turn_id: str
    text: str
    final: bool = False


@dataclass(frozen=True)
class TtsAudio(Message):
    """Synthesised speech for one sentence (or part of it), timestamped on the output clock."""

    turn_id: str
    sentence_index: int
    text: str
    samples: Samples
    sample_rate: int
    pts: float = 0.0


@dataclass(frozen=True)
class VideoFrame(Message):
    """One rendered frame with the audio that plays while it is shown (40 ms at 25 fps)."""

    image: Image
    pts: float
    audio: Samples
    sample_rate: int
    speaking: bool
    drawn: bool = True  # False: the previous image again (video reduced or off), not worth sending


@dataclass(frozen=True)
class Interruption(Message):
    """The customer barged in: every stage cancels, flushes and resets."""

    priority = Priority.URGENT
    pts: float


@dataclass(frozen=True)
class StageError(Message):
    """A stage failed; ``retryable`` errors were retried, permanent ones fell back."""

    priority = Priority.URGENT
    stage: str
    code: str
    message: str
    retryable: bool
