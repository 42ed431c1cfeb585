"""How long the next piece of an answer may be, so that the listener never waits for it.

Kokoro computes a whole piece before any of it plays, in a time that grows with the piece's
speech (0.45-0.55 CPU s per second of speech on this machine's cores when quiet, 0.7-1.0 under a
load of 20; ``bench/results/tts_streaming.md``). A piece
is therefore cut so that its computation ends before the speech already queued ahead of the
listener runs out: with nothing queued (an answer's first words) the piece is a short phrase,
so the first audio comes soon; later pieces grow with what is queued, up to whole clauses, which
keep the best prosody. Cuts are only where ``phrasing.phrase_cuts`` allows them (between
phrases, never inside a word or a number).

The turn says how much is queued (``speech_ahead``, a context variable read while its sentence is
synthesised); without it (the ``speak`` command, the answer audio cache) text is cut as
``phrasing.text_pieces`` cuts it. How fast this machine computes speech is learned from each
piece (``SynthesisSpeed``): under load the pieces shrink at once, and grow back as it eases.
"""
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from avatar_runtime.tts.phrasing import clauses, phrase_cuts, word_cuts

# Where pacing is used in a turn. Measured on 3 demo answers each (bench/results/tts_streaming.md),
# against ``phrasing.text_pieces``: Japanese longest silence 636 -> 67 ms for CER 0.171 -> 0.197;
# Korean 4586 -> 584 ms and CER 0.365 -> 0.325. Mandarin paced was worse on every count (silence
# 1.3 s, CER 0.088 -> 0.211: its cuts between Hanzi words are heard badly), so it keeps text_pieces.
PACED_LANGUAGES = frozenset({"ja", "ko"})
FIRST_PIECE_S = 0.6  # seconds of speech in a piece computed while nothing is queued
SAFETY = 0.7  # a piece may take this share of the time the queued speech lasts
_MIN_HEAD = 3  # characters (spaces aside) a piece needs
_MIN_TAIL = 4  # a shorter rest of the clause is not left on its own
# Characters of text (spaces and punctuation aside) per second of speech, per language: Kokoro at
# rate 1 on the benchmark's demo answers (ja 6.0, ko 3.9, zh 4.2); en is Piper's order of magnitude.
CHARS_PER_S = {"ja": 6.0, "ko": 4.0, "zh": 4.2, "yue": 4.2, "en": 14.0}

# Seconds of speech queued ahead of the listener, for the sentence being synthesised (set by the turn).
speech_ahead: ContextVar[Callable[[], float] | None] = ContextVar("speech_ahead", default=None)


class SynthesisSpeed:
    """Seconds of computation per second of speech, lately: a slower piece counts at once, a
    faster one by half (the next pieces shrink as soon as other work takes the cores)."""

    def __init__(self, initial: float = 0.6) -> None:
        self.value = initial
        self._lock = threading.Lock()

    def record(self, compute_s: float, speech_s: float) -> None:
        if speech_s < 0.3:  # too short to tell (fixed costs dominate)
            return
        with self._lock:
            now = compute_s / speech_s
            self.value = now if now > self.value else (self.value + now) / 2


kokoro_speed = SynthesisSpeed()


@dataclass
class Pace:
    """What a synthesizer needs to size its pieces: the speech queued, and how fast it computes."""

    ahead: Callable[[], float]
    speed: SynthesisSpeed = field(default_factory=lambda: kokoro_speed)
    clock: Callable[[], float] = time.perf_counter  # the bench passes CPU time

    def budget_s(self) -> float:
        """Seconds of speech the next piece may hold."""
        queued = self.ahead()
        if queued <= 0.05:
            return FIRST_PIECE_S
        return max(FIRST_PIECE_S, queued * SAFETY / max(self.speed.value, 0.05))


def paced_pieces(text: str, language: str, pace: Pace) -> Iterator[tuple[float, str]]:
    """``text`` in pieces, each with the pause (seconds) before it, each sized when it is asked for."""
    chars_per_s = CHARS_PER_S.get(language, 6.0)
    for pause, clause in clauses(text):
        cuts, finer = phrase_cuts(clause, language), word_cuts(clause, language)
        start = 0
        while start < len(clause):
            end = next_cut(clause, cuts, finer, start, round(pace.budget_s() * chars_per_s))
            yield (pause if start == 0 else 0.0), clause[start:end].strip()
            start = end


def next_cut(clause: str, cuts: list[int], finer: list[int], start: int, most_chars: int) -> int:
    """Where the piece from ``start`` ends: the whole rest when it fits in ``most_chars``, else the
    furthest phrase cut that fits, else the furthest finer cut that fits, else the nearest cut."""
    if _length(clause[start:]) <= most_chars:
        return len(clause)
    for kind in (cuts, finer):
        fitting = [cut for cut in _usable(clause, kind, start) if _length(clause[start:cut]) <= most_chars]
        if fitting:
            return _balanced(clause, [*cuts, *finer], start, fitting[-1])
    usable = sorted(_usable(clause, [*cuts, *finer], start))
    return _balanced(clause, [*cuts, *finer], start, usable[0]) if usable else len(clause)


def _balanced(clause: str, cuts: list[int], start: int, end: int) -> int:
    """``end``, or the cut after a number where ``end`` would leave the number on a last piece that
    cannot be cut and is longer than both pieces that cut makes: a long last piece is what the
    listener waits for (Korean "시간당 | 25홍콩달러입니다." waited 590 ms; "시간당 25 | 홍콩달러입니다."
    does not). Not for a clause's first piece, which would come later."""
    if start == 0 or _usable(clause, cuts, end):
        return end
    later = [cut for cut in _usable(clause, cuts, start) if cut == end or (cut > end and clause[cut - 1].isdigit())]
    return min(later, key=lambda cut: (max(_length(clause[start:cut]), _length(clause[cut:])), cut), default=end)


def _usable(clause: str, cuts: list[int], start: int) -> list[int]:
    return [cut for cut in cuts
            if cut > start and _length(clause[start:cut]) >= _MIN_HEAD and _length(clause[cut:]) >= _MIN_TAIL]


def _length(text: str) -> int:
    return len(text.replace(" ", ""))
