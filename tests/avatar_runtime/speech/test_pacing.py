"""Kokoro's pieces sized to the speech queued ahead: a short first piece, natural cuts, no long silence."""
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from avatar_runtime.text.sentences import split_text
from avatar_runtime.tts.kokoro_phonemes import mandarin_words
from avatar_runtime.tts.kokoro_voice import SAMPLE_RATE, KokoroModel, KokoroSynthesizer
from avatar_runtime.tts.pacing import PACED_LANGUAGES, Pace, SynthesisSpeed, paced_pieces, speech_ahead
from avatar_runtime.tts.phrasing import phrase_cuts, word_cuts
from avatar_runtime.tts.registry import OFFLINE_VOICES
from avatar_runtime.tts.streaming import MAX_CHUNK_S

DEMO_FAQS = Path(__file__).resolve().parents[3] / "knowledgebase" / "demo" / "faqs.jsonl"
SENTENCES = {  # each with the first word or phrase it is cut after, nothing queued
    "ja": ("グランドフロアの北口付近に、HSBC、中国銀行、恒生銀行のATMがございます。", "グランドフロアの"),
    "ko": ("고객서비스 데스크는 G층 메인 아트리움 중앙 에스컬레이터 옆에 있습니다.", "고객서비스"),
    "zh": ("停车场位于地下二层和地下三层，24小时开放，每小时收费港币25元。", "停车场"),
}


def demo_answers(language: str) -> list[str]:
    rows = [json.loads(line) for line in DEMO_FAQS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["answer"] for row in rows if row["language"] == language]


def _same_token(left: str, right: str) -> bool:
    """Two characters of one number or one Latin word."""
    return bool(left and right and ((left.isdigit() and right.isdigit()) or (left.isascii() and left.isalpha()
                                                                              and right.isascii() and right.isalpha())))


@pytest.mark.parametrize("language", ["ja", "ko", "zh"])
def test_cuts_fall_between_words_never_inside_a_word_or_number(language: str) -> None:
    answers = demo_answers(language)
    assert len(answers) >= 20
    for answer in answers:
        for sentence in split_text(answer):
            cuts = sorted({*phrase_cuts(sentence, language), *word_cuts(sentence, language)})
            if language == "zh":
                boundaries = set(np.cumsum([len(w) for w in mandarin_words(sentence)]).tolist())
            for cut in cuts:
                before, after = sentence[cut - 1], sentence[cut:cut + 1].lstrip()[:1]
                assert not _same_token(before, after), (sentence[:cut], sentence[cut:])
                if language == "ko":  # Korean words are written apart: a cut is at a space or a comma, or
                    # between a number and the word written onto it (25홍콩달러 is 25 홍콩달러 spaced)
                    assert (sentence[cut - 1] in ", " or sentence[cut:cut + 1] == " "
                            or sentence[cut - 1].isdigit()), (sentence[:cut], sentence[cut:])
                if language == "zh":
                    assert cut in boundaries, (sentence[:cut], sentence[cut:])
                if language == "ja":  # after a particle or a comma, never inside a kana or kanji word
                    assert re.search(r"(?:[はがをにでもへのと、]|から|まで)$", sentence[:cut]), (sentence[:cut], sentence[cut:])


def cut(text: str, cuts: list[int]) -> list[str]:
    return [text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def test_examples_of_natural_cuts() -> None:
    assert cut("洗手间在二楼。", phrase_cuts("洗手间在二楼。", "zh")) == ["洗手间", "在二楼。"]
    text = "每层楼的中央电梯大堂旁边都有洗手间。"
    assert cut(text, phrase_cuts(text, "zh")) == ["每层楼的中央电梯大堂旁边", "都有洗手间。"]  # not 都 | 有
    text = "핫라인 2888 6000으로도 문의하실 수 있습니다."
    assert cut(text, word_cuts(text, "ko")) == ["핫라인", "2888 6000으로도", "문의하실", "수", "있습니다."]
    text = "시간당 25홍콩달러입니다."
    assert cut(text, word_cuts(text, "ko")) == ["시간당", "25", "홍콩달러입니다."]
    for text in ("지하 3층에서는", "유효기간은 12개월입니다.", "24시간운영합니다", "2888 6000으로도"):  # short words,
        # a counter that takes native numerals, a phone number: the number stays with what follows it
        assert all(text[cut - 1] == " " or text[cut] == " " for cut in word_cuts(text, "ko")), text
    text = "グランドフロアの北口付近に"
    assert cut(text, word_cuts(text, "ja")) == ["グランドフロアの", "北口付近に"]
    text = "100香港ドル、1,000香港ドルの3種類を販売しております。"
    assert cut(text, phrase_cuts(text, "ja")) == ["100香港ドル、", "1,000香港ドルの3種類を", "販売しております。"]


@pytest.mark.parametrize("language", ["ja", "ko", "zh"])
def test_the_first_piece_is_short_and_later_pieces_grow_with_the_queued_speech(language: str) -> None:
    sentence, first_phrase = SENTENCES[language]
    cold = list(paced_pieces(sentence, language, Pace(lambda: 0.0, SynthesisSpeed(0.5))))
    assert cold[0][1] == first_phrase
    assert "".join(text for _, text in cold).replace(" ", "") == sentence.replace(" ", "")
    covered = list(paced_pieces(sentence, language, Pace(lambda: 10.0, SynthesisSpeed(0.5))))
    assert len(covered) < len(cold)  # with 10 s queued, whole clauses: the best prosody
    assert covered[0][1] == sentence[: len(covered[0][1])]


def test_a_number_is_not_left_on_a_long_last_piece() -> None:
    # The last piece is what the listener waits for: "시간당 | 25홍콩달러입니다." left a 590 ms silence
    # (bench/results/tts_streaming_ko_v2.md); the number goes with the piece before it.
    sentence = "주차장은 지하 2층과 지하 3층에 있으며 24시간 운영하고 시간당 25홍콩달러입니다."
    pieces = [text for _, text in paced_pieces(sentence, "ko", Pace(lambda: 1.0, SynthesisSpeed(1.0)))]
    assert pieces[-2:] == ["시간당 25", "홍콩달러입니다."]
    assert pieces[0] == "주차장은"  # a clause's first piece is not made longer


class ScriptedModel:
    """The real Kokoro model on a scripted clock: each call takes ``rtf`` seconds per second of speech."""

    def __init__(self, model: KokoroModel, rtf: float) -> None:
        self.model, self.rtf, self.now = model, rtf, 0.0

    def infer(self, phonemes: str, voice: str, speed: float) -> np.ndarray:
        audio = self.model.infer(phonemes, voice, speed)
        self.now += 0.05 + self.rtf * len(audio) / SAMPLE_RATE  # a call's fixed cost, and its time per second
        return audio


def play(pieces: Iterator[np.ndarray], model: ScriptedModel, queued: list[float]) -> tuple[float, list[float]]:
    """Play pieces back to back as each is ready; the first piece's speech (s) and every silence between pieces."""
    end: float | None = None
    first, silences = 0.0, []
    for piece in pieces:
        ready = model.now
        if end is None:
            first, end = len(piece) / SAMPLE_RATE, ready
        silences.append(max(0.0, ready - end))
        end = max(end, ready) + len(piece) / SAMPLE_RATE
        queued[0] = end
    return first, silences[1:]


@pytest.mark.slow
@pytest.mark.parametrize("language", sorted(PACED_LANGUAGES))
def test_an_answer_faster_than_real_time_plays_without_a_silence_over_the_budget(language: str, models_dir: Path) -> None:
    # Kokoro on a quiet core computes about 0.5 s per second of speech (bench/results/tts_streaming.md).
    synthesizer = KokoroSynthesizer(models_dir)
    model = ScriptedModel(synthesizer._model(), rtf=0.5)
    end = [0.0]
    speed = SynthesisSpeed(0.5)
    answer = demo_answers(language)[2]  # parking: three clauses, numbers and a long second sentence

    def pieces() -> Iterator[np.ndarray]:
        for sentence in split_text(answer):
            pace = Pace(lambda: max(0.0, end[0] - model.now), speed, lambda: model.now)
            yield from synthesizer._pieces(model, sentence, OFFLINE_VOICES[language], pace)  # type: ignore[arg-type]

    first, silences = play(pieces(), model, end)
    assert first < 1.2  # the first phrase alone (~0.5 s to compute), not the first clause

    assert len(silences) >= 3
    assert max(silences) <= 0.25, silences


@pytest.mark.slow
async def test_in_a_turn_kokoro_speaks_a_short_first_piece(models_dir: Path) -> None:
    synthesizer = KokoroSynthesizer(models_dir)
    text = SENTENCES["ja"][0]
    token = speech_ahead.set(lambda: 0.0)  # as the turn sets it: nothing queued yet
    try:
        chunks = [c async for c in synthesizer.synthesize(text, OFFLINE_VOICES["ja"])]
    finally:
        speech_ahead.reset(token)
    seconds = [len(c.samples) / c.sample_rate for c in chunks]
    first_piece_end = next(i for i, s in enumerate(seconds) if s < MAX_CHUNK_S - 0.01)
    assert sum(seconds[: first_piece_end + 1]) < 1.2  # グランドフロアの, not the 2 s first clause
    assert sum(seconds) > 3.0
