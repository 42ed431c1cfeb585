"""How much to synthesise next, and when: no silence between the pieces of an answer.

A neural voice (Kokoro, Piper) computes a whole piece before any of it can play, in a time that
grows with the piece's length. A piece must therefore be ready before the audio already queued
ahead of the listener runs out: the first piece of an answer is short (about a second of speech,
so the customer hears it soon), and later pieces grow with the audio buffered ahead, up to
``MAX_PIECE_S``, sized by how fast this machine has been computing speech (``ComputeSpeed``).
On a loaded machine the pieces stay short; on a quiet one they grow and prosody improves.

The turn sets the ``SpeechPace`` of its answer (``speech_pace_set``): what is queued ahead of the
listener, read from the playback position. It also bounds the look-ahead: the next sentence is
synthesised while the current one plays, but no sooner than when less than ``LOOKAHEAD_S`` is
queued (``lookahead_room``), so an answer's synthesis never runs far ahead of its playback:
the renderer keeps its share of the cores, and a barge-in throws little computed speech away.
"""
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from avatar_runtime.pipeline.clock import Clock

FIRST_PIECE_S = 0.9  # seconds of speech in an answer's first piece (or whenever nothing is queued)
MAX_PIECE_S = 6.0  # longer pieces gain no prosody and cost a barge-in more wasted compute
LOOKAHEAD_S = 4.0  # the next sentence starts synthesising once less than this is queued to play
SAFETY = 0.6  # a piece should take at most this share of the time the queued audio lasts
_INITIAL_RTF = 0.8  # compute seconds per second of speech, before anything was measured


class ComputeSpeed:
    """How many seconds this process needed per second of speech, lately (per voice backend)."""

    def __init__(self, initial: float = _INITIAL_RTF, weight: float = 0.5) -> None:
        self.initial = initial
        self.weight = weight
        self._rtf: dict[str, float] = {}
        self._lock = threading.Lock()

    def real_time_factor(self, backend: str) -> float:
        return self._rtf.get(backend, self.initial)

    def record(self, backend: str, compute_s: float, audio_s: float) -> None:
        if audio_s <= 0.1:  # too short to say anything (fixed costs dominate)
            return
        with self._lock:
            before = self._rtf.get(backend, self.initial)
            self._rtf[backend] = (1 - self.weight) * before + self.weight * compute_s / audio_s


compute_speed = ComputeSpeed()


def piece_target_s(ahead_s: float, real_time_factor: float) -> float:
    """Seconds of speech the next piece may hold, with ``ahead_s`` queued to play."""
    if ahead_s <= 0:
        return FIRST_PIECE_S
    return min(MAX_PIECE_S, max(FIRST_PIECE_S, ahead_s * SAFETY / max(real_time_factor, 0.05)))


@dataclass
class SpeechPace:
    """What is queued ahead of the listener (seconds), as the turn's playback knows it."""

    ahead_s: Callable[[], float]


@dataclass
class SelfPace:
    """The pace of a voice speaking on its own (no turn around it): playback is assumed to start
    with the first piece and to run in real time."""

    started: float | None = None
    produced_s: float = 0.0
    clock: Callable[[], float] = field(default=time.monotonic)

    def ahead_s(self) -> float:
        if self.started is None:
            return 0.0
        return max(0.0, self.produced_s - (self.clock() - self.started))

    def produced(self, seconds: float) -> None:
        if self.started is None:
            self.started = self.clock()
        self.produced_s += seconds


_pace: ContextVar[SpeechPace | None] = ContextVar("speech_pace", default=None)


def speech_pace_set(ahead_s: Callable[[], float]) -> None:
    """From now on in this task (a turn runs in its own), voices size their pieces to ``ahead_s()``,
    the seconds of speech queued to play."""
    _pace.set(SpeechPace(ahead_s))


def current_pace() -> SpeechPace | None:
    return _pace.get()


async def lookahead_room(clock: Clock, ahead_s: Callable[[], float], limit_s: float = LOOKAHEAD_S,
                         poll_s: float = 0.04) -> None:
    """Return once less than ``limit_s`` of speech is queued ahead of the listener.

    Polls on ``clock`` (virtual in tests); a cancelled turn stops waiting at once.
    """
    while ahead_s() >= limit_s:
        await clock.sleep(poll_s)
