"""Which writing systems a text uses, and whether that fits a kiosk language.

Used to check that an answer is written in the customer's language (a small model often
drifts into Mandarin or English) and to choose how to compare texts (characters for CJK,
words for Latin). Only letters count; digits and punctuation belong to no script.
"""
from collections import Counter
from enum import StrEnum


class Script(StrEnum):
    HAN = "han"
    KANA = "kana"
    HANGUL = "hangul"
    LATIN = "latin"
    OTHER = "other"


_RANGES: tuple[tuple[int, int, Script], ...] = (
    (0x3040, 0x30FF, Script.KANA),  # hiragana, katakana
    (0x31F0, 0x31FF, Script.KANA),  # katakana phonetic extensions
    (0xFF66, 0xFF9D, Script.KANA),  # half-width katakana
    (0x3400, 0x4DBF, Script.HAN),
    (0x4E00, 0x9FFF, Script.HAN),
    (0xF900, 0xFAFF, Script.HAN),
    (0x20000, 0x2FA1F, Script.HAN),
    (0x1100, 0x11FF, Script.HANGUL),
    (0x3130, 0x318F, Script.HANGUL),
    (0xAC00, 0xD7AF, Script.HANGUL),
)


def script_of(char: str) -> Script | None:
    """The script of one character, or None for digits, punctuation, spaces and symbols."""
    code = ord(char)
    for low, high, script in _RANGES:
        if low <= code <= high:
            return script
    if char.isalpha():
        return Script.LATIN if code < 0x0250 or 0xFF21 <= code <= 0xFF5A else Script.OTHER
    return None


def is_cjk(char: str) -> bool:
    """Han, kana or hangul: the scripts written without spaces between words (hangul aside)."""
    return script_of(char) in (Script.HAN, Script.KANA, Script.HANGUL)


def script_counts(text: str) -> Counter[Script]:
    counts: Counter[Script] = Counter()
    for char in text:
        script = script_of(char)
        if script is not None:
            counts[script] += 1
    return counts


def fits_language(text: str, language: str) -> bool:
    """Whether ``text`` is plausibly written in ``language`` (judged by script alone).

    Japanese needs some kana (kanji-only text reads as Chinese) unless it is very short;
    Chinese (zh, yue) must be mostly Han with no kana or hangul to speak of; Korean mostly
    hangul; English mostly Latin. Names and numbers in another script are tolerated.
    """
    counts = script_counts(text)
    letters = sum(counts.values())
    if letters == 0:
        return True
    share = {script: n / letters for script, n in counts.items()}
    if language == "ja":
        kana = counts[Script.KANA]
        return share.get(Script.HANGUL, 0) < 0.1 and share.get(Script.LATIN, 0) < 0.5 and (
            kana > 0 or counts[Script.HAN] <= 6
        )
    if language in ("zh", "yue"):
        return share.get(Script.HAN, 0) >= 0.5 and counts[Script.KANA] <= 1 and counts[Script.HANGUL] == 0
    if language == "ko":
        return share.get(Script.HANGUL, 0) >= 0.5
    if language == "en":
        return share.get(Script.LATIN, 0) >= 0.7
    return True
