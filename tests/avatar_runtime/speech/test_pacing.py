"""An answer's speech has no gaps: pieces sized to the audio queued ahead, a bounded look-ahead.

The pacing logic runs on a scripted clock against a voice of known speed (fast, deterministic);
one slow test speaks a real Japanese answer with Kokoro, played in real time.
"""
import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from avatar_runtime.pipeline.clock import Clock, RealClock, VirtualClock, settle
from avatar_runtime.text.sentences import split_text
from avatar_runtime.tts.kokoro_voice import KokoroSynthesizer
from avatar_runtime.tts.pacing import (
    FIRST_PIECE_S,
    LOOKAHEAD_S,
    MAX_PIECE_S,
    ComputeSpeed,
    SelfPace,
    compute_speed,
    lookahead_room,
    paced_pieces,
    piece_target_s,
    speech_pace_set,
)
from avatar_runtime.tts.phrasing import CHARS_PER_S, text_pieces
from avatar_runtime.tts.registry import OFFLINE_VOICES
from avatar_runtime.tts.streaming import MAX_CHUNK_S

KO_ANSWER = ("화장실은 각 층 중앙 엘리베이터 홀 옆에 있습니다. 다목적 화장실은 일층과 삼층에 있으며 기저귀 교환대도 "
             "이용하실 수 있습니다. 궁금하신 점은 안내 데스크 직원에게 문의해 주시기 바랍니다.")
JA_ANSWER = ("トイレは各階の中央エレベーターホールの隣にございます。多目的トイレは一階と三階にあり、"
             "おむつ交換台もご利用いただけます。ご不明な点はインフォメーションカウンターのスタッフにお尋ねください。")
ZH_ANSWER = "洗手间位于每层的中央电梯大厅旁边。无障碍洗手间在一楼和三楼，也提供婴儿换尿布台。如有疑问，请咨询服务台的工作人员。"


def test_the_first_piece_is_short_and_later_ones_grow_with_what_is_queued() -> None:
    assert piece_target_s(0.0, 0.5) == FIRST_PIECE_S
    assert piece_target_s(2.0, 0.5) == pytest.approx(2.4)  # computed in 1.2 s, while 2 s play
    assert piece_target_s(20.0, 0.5) == MAX_PIECE_S
    # A loaded machine (3 s of compute per second of speech) keeps its pieces short.
    assert piece_target_s(2.0, 3.0) == FIRST_PIECE_S


@pytest.mark.parametrize(("language", "text"), [("ko", KO_ANSWER), ("ja", JA_ANSWER), ("zh", ZH_ANSWER)])
def test_pieces_are_cut_at_phrases_to_the_size_asked_for(language: str, text: str) -> None:
    pieces = [piece for _pause, piece in paced_pieces(text, language, lambda: (1.5, 0.6))]  # pieces of ~1.5 s
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    limit = 2.5 * 1.5 * CHARS_PER_S[language]
    assert all(len(piece) <= limit for piece in pieces), pieces
    # The old cut (sentences and commas) gave the Korean answer three pieces of 28 to 45 characters.
    assert len(pieces) >= 2 * len(text_pieces(text, language))
    if language == "ko":
        assert " ".join(pieces) == text  # every cut is at a space: no word is broken
        assert pieces[0] == "화장실은"  # a word and its particle
    if language == "ja":
        assert pieces[0] == "トイレは各階の"  # words with their particles: no word is broken


def test_a_short_phrase_is_not_cut_off_before_a_long_one_that_could_not_be_ready() -> None:
    # "各階の" alone (0.5 s) would play out long before "中央エレベーターホールの" (2 s, no cut
    # inside a katakana compound) was computed: the first piece takes both short phrases.
    pieces = paced_pieces("トイレは各階の中央エレベーターホールの隣にございます。", "ja", lambda: (0.0, 0.6))
    assert next(pieces)[1] == "トイレは各階の"


def test_each_piece_is_cut_when_it_is_asked_for() -> None:
    targets = iter([(0.0, 0.5), (3.3, 0.5), (0.5, 0.5)])  # queued (s), real-time factor
    sentence = "다목적 화장실은 일층과 삼층에 있으며 기저귀 교환대도 이용하실 수 있습니다."
    pieces = paced_pieces(sentence, "ko", lambda: next(targets))
    sizes = [len(next(pieces)[1]) for _ in range(3)]
    assert sizes[1] > 2 * max(sizes[0], sizes[2]), sizes


def test_pauses_stay_at_sentence_and_clause_ends() -> None:
    pieces = list(paced_pieces(JA_ANSWER, "ja", lambda: (1.0, 0.6)))
    assert pieces[0][0] == 0.0
    assert sum(pause == 0.15 for pause, _ in pieces) == 2  # before the second and the third sentence
    after_clause = [piece for pause, piece in pieces if pause == 0.08]
    assert after_clause and after_clause[0].startswith("おむつ")


@dataclass
class Player:
    """Plays pushed audio in real time (on ``clock``) from the first piece; notes when it ran dry."""

    clock: Clock
    play_end: float | None = None
    gaps: list[float] = field(default_factory=list)
    most_queued: float = 0.0

    def push(self, seconds: float) -> None:
        now = self.clock.now()
        if self.play_end is not None and now > self.play_end:
            self.gaps.append(now - self.play_end)
        self.play_end = max(now, self.play_end or now) + seconds
        self.most_queued = max(self.most_queued, self.queued_s())

    def queued_s(self) -> float:
        return 0.0 if self.play_end is None else max(0.0, self.play_end - self.clock.now())


async def speak_scripted(clock: VirtualClock, player: Player, text: str, language: str, rtf: float,
                         paced: bool) -> None:
    """A voice that needs 0.15 s plus ``rtf`` s of compute per second of speech in a piece (Kokoro
    on this 2-core machine, quiet: 0.15 + 0.5 s), on the virtual clock, driven as
    ``pipeline/turn.py`` drives a voice; unpaced, as the code did before (whole clauses, every
    sentence synthesised as soon as the one before)."""
    speed = ComputeSpeed()
    for sentence in split_text(text):
        if paced:
            await lookahead_room(clock, player.queued_s)
            pieces = paced_pieces(sentence, language, lambda: (player.queued_s(), speed.real_time_factor("voice")))
        else:
            pieces = iter(text_pieces(sentence, language))
        for pause, piece in pieces:
            seconds = pause + len(piece.replace(" ", "")) / CHARS_PER_S[language]
            await clock.sleep(0.15 + rtf * seconds)
            speed.record("voice", 0.15 + rtf * seconds, seconds)
            player.push(seconds)


async def run_scripted(text: str, language: str, rtf: float, paced: bool) -> Player:
    clock = VirtualClock()
    player = Player(clock)
    task = asyncio.create_task(speak_scripted(clock, player, text, language, rtf, paced))
    while not task.done():
        await clock.advance(0.01)
    await task
    return player


@pytest.mark.parametrize(("language", "text"), [("ko", KO_ANSWER), ("ja", JA_ANSWER), ("zh", ZH_ANSWER)])
async def test_an_answer_plays_without_gaps_when_the_voice_is_fast_enough(language: str, text: str) -> None:
    paced = await run_scripted(text, language, rtf=0.5, paced=True)
    assert max(paced.gaps, default=0.0) <= 0.25, paced.gaps
    unpaced = await run_scripted(text, language, rtf=0.5, paced=False)
    if language != "zh":  # the long clauses of before left the listener waiting (Mandarin's had commas)
        assert max(unpaced.gaps) > 1.0


async def test_synthesis_looks_ahead_a_bounded_amount() -> None:
    player = await run_scripted(KO_ANSWER, "ko", rtf=0.2, paced=True)
    # A fast voice could have computed the whole answer at once; it stays within the look-ahead.
    assert player.most_queued <= LOOKAHEAD_S + MAX_PIECE_S
    assert player.most_queued > LOOKAHEAD_S / 2
    assert player.gaps == []


async def test_a_cancelled_answer_stops_waiting_for_room_at_once() -> None:
    clock = VirtualClock()
    waiting = asyncio.create_task(lookahead_room(clock, lambda: LOOKAHEAD_S + 1))
    await clock.advance(1.0)
    assert not waiting.done()
    waiting.cancel()
    await settle()
    assert waiting.cancelled()


def test_the_speed_estimate_follows_a_slowdown_at_once_and_a_speedup_gradually() -> None:
    speed = ComputeSpeed(initial=0.5)
    speed.record("kokoro", 6.0, 2.0)  # another process took the cores
    assert speed.real_time_factor("kokoro") == 3.0
    speed.record("kokoro", 1.0, 2.0)
    assert speed.real_time_factor("kokoro") == pytest.approx(1.75)
    assert speed.real_time_factor("piper") == 0.5


def test_a_voice_speaking_on_its_own_paces_itself_by_its_output() -> None:
    now = iter([10.0, 10.5, 12.0])
    pace = SelfPace(clock=lambda: next(now))
    assert pace.ahead_s() == 0.0
    pace.produced(2.0)  # starts playing at 10.0
    assert pace.ahead_s() == pytest.approx(1.5)
    assert pace.ahead_s() == 0.0  # played out


@pytest.mark.slow
async def test_kokoro_computes_the_next_sentence_while_one_plays(models_dir: Path) -> None:
    """A real three-sentence Japanese answer, played in real time.

    Whatever the machine's load, each sentence starts synthesising as soon as the one before has
    been (or, when that one is still far from played out, once less than the look-ahead is
    queued), in pieces of at most ``MAX_PIECE_S``. When the machine computes speech at least
    ~1.6x faster than it plays (measured during the run), no silence exceeds 250 ms.
    """
    voice = OFFLINE_VOICES["ja"]
    synthesizer = KokoroSynthesizer(models_dir)
    async for _ in synthesizer.synthesize("はい。", voice):
        pass  # the model loaded, as a worker's warm-up does
    player = Player(RealClock())
    compute_s = 0.0
    chunks: list[float] = []
    for number, sentence in enumerate(split_text(JA_ANSWER)):
        waiting = time.perf_counter()
        await lookahead_room(player.clock, player.queued_s)
        if number:  # (a loaded machine may hold the event loop up a little after the wait)
            waited, queued = time.perf_counter() - waiting, player.queued_s()
            assert waited < 0.05 or queued > LOOKAHEAD_S - 0.5, (waited, queued)
        speech_pace_set(player.queued_s)
        began = time.perf_counter()
        async for chunk in synthesizer.synthesize(sentence, voice):
            compute_s += time.perf_counter() - began
            chunks.append(len(chunk.samples) / chunk.sample_rate)
            player.push(chunks[-1])
            began = time.perf_counter()
    assert sum(chunks) > 10.0
    assert max(_pieces(chunks)) <= MAX_PIECE_S + 0.8  # a sentence's pause before it, a short last word
    rtf = compute_s / sum(chunks)
    if rtf <= 0.6:
        assert max(player.gaps, default=0.0) <= 0.25, (player.gaps, rtf)
    assert compute_speed.real_time_factor("kokoro") > 0


def _pieces(chunk_seconds: list[float]) -> list[float]:
    """Piece lengths: a piece reaches the stream as chunks of MAX_CHUNK_S, its last one shorter."""
    pieces, current = [], 0.0
    for seconds in chunk_seconds:
        current += seconds
        if seconds < MAX_CHUNK_S - 0.001:
            pieces.append(current)
            current = 0.0
    return [*pieces, current] if current else pieces
