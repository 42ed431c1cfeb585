"""Korean spelling rewritten as pronounced, before espeak-ng and Kokoro read it (standard pronunciation)."""
import pytest

from avatar_runtime.tts.kokoro_phonemes import phonemize
from avatar_runtime.tts.korean_pronunciation import korean_pronounced


@pytest.mark.parametrize(("written", "said"), [
    ("한국어", "한구거"), ("분실물을", "분실무를"), ("옆에도", "여페도"),  # liaison
    ("읽어", "일거"), ("앉아", "안자"), ("값이", "갑씨"),  # a double final: its second letter moves on
    ("국물", "궁물"), ("합니다", "함니다"), ("있습니다", "읻씀니다"),  # nasalisation (with tensification)
    ("신라", "실라"), ("설날", "설랄"),  # lateralisation
    ("종로", "종노"), ("적립", "정닙"),  # ㄹ said ㄴ after other finals, which then nasalise
    ("좋다", "조타"), ("축하", "추카"), ("입학", "이팍"), ("밝히다", "발키다"),  # aspiration with ㅎ
    ("좋아", "조아"), ("많아", "마나"), ("놓는", "논는"),  # ㅎ dropped or said ㄴ
    ("같이", "가치"), ("굳이", "구지"),  # palatalisation
    ("학교", "학꾜"), ("출입구", "추립꾸"),  # tensification after ㄱ ㄷ ㅂ
    ("희망", "히망"), ("회의", "회이"),  # ㅢ after a consonant, and not first in a word
    ("담당하고", "담당하고"), ("바다", "바다"),  # nothing to change
])
def test_korean_words_are_spelt_as_they_are_said(written: str, said: str) -> None:
    assert korean_pronounced(written) == said


def test_rules_stay_inside_a_word_and_leave_latin_and_digits_alone() -> None:
    assert korean_pronounced("HSBC에 3층 국 물") == "HSBC에 3층 국 물"


def test_kokoro_is_given_the_pronounced_korean() -> None:
    assert phonemize("국물", "ko") == phonemize("궁물", "ko")
    assert "ʨʰ" in phonemize("층", "ko") and "ʃ" not in phonemize("층", "ko")  # ㅊ is one aspirate, not t-sh-h
