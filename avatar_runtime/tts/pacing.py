"""How much to synthesise next, and when: no silence between the pieces of an answer.

A neural voice computes a whole piece before any of it can play, in a time that grows with the
piece's length; Kokoro (Japanese, Korean, Mandarin) needs 0.5-0.75 s per second of speech on a
quiet 2-core machine and 1.5-3.7 s on a loaded one. (Piper keeps ``phrasing.text_pieces``: it
runs about ten times faster than it plays.) A piece must therefore be ready before the audio already queued
ahead of the listener runs out: the first piece of an answer is short (about a second of speech,
so the customer hears it soon), and later pieces grow with the audio buffered ahead, up to
``MAX_PIECE_S``, sized by how fast this machine has been computing speech (``ComputeSpeed``).
On a loaded machine the pieces stay short; on a quiet one they grow and prosody improves.

The turn sets the ``SpeechPace`` of its answer (``speech_pace_set``): what is queued ahead of the
listener, read from the playback position. It also bounds the look-ahead: the next sentence is
synthesised while the current one plays, but no sooner than when less than ``LOOKAHEAD_S`` is
queued (``lookahead_room``), so an answer's synthesis never runs far ahead of its playback:
the renderer keeps its share of the cores, and a barge-in throws little computed speech away.
The cores themselves are shared by priority: synthesis runs on ``inference_threads``, below the
renderer's, so when both want a core the frames leave on time and synthesis waits.
A cancelled answer stops after the piece being computed (at most ``MAX_PIECE_S`` of speech).
"""
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from avatar_runtime.pipeline.clock import Clock
from avatar_runtime.tts.phrasing import (
    CHARS_PER_S,
    CLAUSE,
    CLAUSE_GAP_S,
    SENTENCE_GAP_S,
    next_cut,
    phrase_cuts,
    sentences,
    usable_cuts,
)

FIRST_PIECE_S = 0.9  # seconds of speech in an answer's first piece (or whenever nothing is queued)
MAX_PIECE_S = 6.0  # longer pieces gain no prosody and cost a barge-in more wasted compute
LOOKAHEAD_S = 4.0  # the next sentence starts synthesising once less than this is queued to play
SAFETY = 0.6  # a piece should take at most this share of the time the queued audio lasts
_INITIAL_RTF = 0.8  # compute seconds per second of speech, before anything was measured
_CALL_S = 0.1  # a model call's fixed cost, on top of its time per second of speech


class ComputeSpeed:
    """How many seconds this process needed per second of speech, lately (per voice backend).

    A slower piece counts at once, a faster one only half: when other work takes the cores the
    next pieces shrink straight away (a piece sized for a quiet machine took 19 s to compute
    under load 12), and they grow back as the machine stays quiet.
    """

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
            now = compute_s / audio_s
            self._rtf[backend] = now if now > before else (1 - self.weight) * before + self.weight * now


compute_speed = ComputeSpeed()


def piece_target_s(ahead_s: float, real_time_factor: float) -> float:
    """Seconds of speech the next piece may hold, with ``ahead_s`` queued to play."""
    if ahead_s <= 0:
        return FIRST_PIECE_S
    return min(MAX_PIECE_S, max(FIRST_PIECE_S, ahead_s * SAFETY / max(real_time_factor, 0.05)))


def paced_pieces(text: str, language: str, pace: Callable[[], tuple[float, float]]) -> Iterator[tuple[float, str]]:
    """``text`` in pieces with the pause (seconds) before each, each cut when it is asked for.

    ``pace()`` says how many seconds are queued to play and the voice's real-time factor. A piece
    ends at a phrase boundary (``phrasing.phrase_cuts``) near ``piece_target_s``; where that would
    leave the listener waiting later in the sentence (a short phrase before a long one that cannot
    be cut), another boundary that is predicted to wait less is taken.
    """
    chars_per_s = CHARS_PER_S.get(language, 10.0)
    for number, sentence in enumerate(sentences(text)):
        cuts = phrase_cuts(sentence, language)
        start, pause = 0, SENTENCE_GAP_S if number else 0.0
        while start < len(sentence):
            queued, rtf = pace()
            end = _planned_cut(sentence, cuts, start, queued, rtf, chars_per_s)
            yield pause, sentence[start:end].strip()
            pause = CLAUSE_GAP_S if cuts.get(end) == CLAUSE else 0.0
            start = end


def _planned_cut(sentence: str, cuts: dict[int, int], start: int, queued: float, rtf: float,
                 chars_per_s: float) -> int:
    default = next_cut(sentence, cuts, start, _target_chars(queued, rtf, chars_per_s))
    if rtf >= 1.0:
        return default  # slower than speech: every plan waits, and short pieces keep the waits short
    longest = start + 2 * _target_chars(queued, rtf, chars_per_s)  # never more than twice the target
    candidates = [c for c in usable_cuts(sentence, cuts, start) if c <= longest]
    candidates += [len(sentence)] if len(sentence) <= longest else []
    best, best_wait = default, _predicted_wait(sentence, cuts, start, default, queued, rtf, chars_per_s)
    for cut in sorted(candidates):
        wait = _predicted_wait(sentence, cuts, start, cut, queued, rtf, chars_per_s)
        if wait < best_wait - 0.05:
            best, best_wait = cut, wait
    return best


def _target_chars(queued: float, rtf: float, chars_per_s: float) -> int:
    return max(1, round(piece_target_s(queued, rtf) * chars_per_s))


def _predicted_wait(sentence: str, cuts: dict[int, int], start: int, end: int, queued: float, rtf: float,
                    chars_per_s: float) -> float:
    """Seconds the listener is predicted to wait for the rest of ``sentence`` (the answer's first
    audio included) with the next piece ending at ``end`` and the usual cuts after it."""
    wait = 0.0
    while True:
        audio = len(sentence[start:end].replace(" ", "")) / chars_per_s
        compute = _CALL_S + rtf * audio
        wait += max(0.0, compute - queued)
        queued = max(0.0, queued - compute) + audio
        if end >= len(sentence):
            return wait
        start, end = end, next_cut(sentence, cuts, end, _target_chars(queued, rtf, chars_per_s))


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
