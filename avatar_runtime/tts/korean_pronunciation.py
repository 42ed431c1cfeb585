"""Korean spelling rewritten as it is pronounced (표준 발음법), before espeak-ng reads it.

espeak-ng reads Hangul letter by letter: 있습니다 as it-sɯp-ni-da, 국물 as kuk-mul, 신라 as sin-ra,
적립 as tɕʌk-rip. Kokoro says what it is given, and a listener (or Whisper) hears the wrong sounds.
The rules here rewrite each word into the Hangul a Korean speaker actually says (있습니다 → 읻씀니다,
국물 → 궁물, 신라 → 실라, 적립 → 정닙, 좋다 → 조타, 값이 → 갑씨), so espeak-ng's letter-by-letter
reading becomes the right one. The same rules as g2pK's regular ones, without its morphological
analyser: the exceptions that need word classes (tensification after verb stems, 의 as a particle,
ㄴ-insertion in compounds) are left out.

Rules apply within a run of Hangul syllables (a spoken word with its particles), between each final
consonant and the next syllable's initial: ㅎ aspiration and deletion, liaison, final neutralisation,
ㄹ → ㄴ after other consonants, nasalisation, lateralisation, tensification and palatalisation.
"""
import re
from itertools import pairwise

_BASE = 0xAC00
_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_FINALS = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅁ", "ㅂ",
           "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")
# A double final as its two letters: the first stays, the second moves on (읽어 → 일거) or drops.
_SPLIT = {"ㄳ": "ㄱㅅ", "ㄵ": "ㄴㅈ", "ㄶ": "ㄴㅎ", "ㄺ": "ㄹㄱ", "ㄻ": "ㄹㅁ", "ㄼ": "ㄹㅂ", "ㄽ": "ㄹㅅ", "ㄾ": "ㄹㅌ",
          "ㄿ": "ㄹㅍ", "ㅀ": "ㄹㅎ", "ㅄ": "ㅂㅅ"}
_JOIN = {letters: final for final, letters in _SPLIT.items()}
# Before a consonant or a pause a final is one of seven sounds (ㄱ ㄴ ㄷ ㄹ ㅁ ㅂ ㅇ).
_NEUTRAL = {"ㄲ": "ㄱ", "ㅋ": "ㄱ", "ㅅ": "ㄷ", "ㅆ": "ㄷ", "ㅈ": "ㄷ", "ㅊ": "ㄷ", "ㅌ": "ㄷ", "ㅍ": "ㅂ", "ㅎ": "ㄷ",
            "ㄳ": "ㄱ", "ㄺ": "ㄱ", "ㄵ": "ㄴ", "ㄶ": "ㄴ", "ㄻ": "ㅁ", "ㄼ": "ㄹ", "ㄽ": "ㄹ", "ㄾ": "ㄹ", "ㄿ": "ㅂ",
            "ㅀ": "ㄹ", "ㅄ": "ㅂ"}
_ASPIRATED = {"ㄱ": "ㅋ", "ㄷ": "ㅌ", "ㅂ": "ㅍ", "ㅈ": "ㅊ", "ㅅ": "ㅆ"}
_TENSE = {"ㄱ": "ㄲ", "ㄷ": "ㄸ", "ㅂ": "ㅃ", "ㅅ": "ㅆ", "ㅈ": "ㅉ"}
_NASAL = {"ㄱ": "ㅇ", "ㄷ": "ㄴ", "ㅂ": "ㅁ"}
# A final before ㅎ merges with it into one aspirate (축하 → 추카, 입학 → 이팍, 맞히다 → 마치다).
_BEFORE_H = {"ㄱ": "ㅋ", "ㄲ": "ㅋ", "ㄷ": "ㅌ", "ㅅ": "ㅌ", "ㅈ": "ㅊ", "ㅊ": "ㅊ", "ㅌ": "ㅌ", "ㅂ": "ㅍ"}
_HANGUL_RUN = re.compile("[가-힣]+")

Syllable = list[str]  # [initial, vowel, final], final "" when there is none


def _split(char: str) -> Syllable:
    code = ord(char) - _BASE
    return [_INITIALS[code // 588], _VOWELS[code % 588 // 28], _FINALS[code % 28]]


def _join(syllable: Syllable) -> str:
    initial, vowel, final = syllable
    return chr(_BASE + _INITIALS.index(initial) * 588 + _VOWELS.index(vowel) * 28 + _FINALS.index(final))


def _last_letter(final: str) -> tuple[str, str]:
    """A final split into what stays and its last letter (ㄺ → ㄹ, ㄱ; ㄱ → "", ㄱ)."""
    letters = _SPLIT.get(final, final)
    return letters[:-1], letters[-1:]


def _between(left: Syllable, right: Syllable) -> None:
    """The rules at one boundary, rewriting the left final and the right initial in place."""
    final, initial = left[2], right[0]
    if not final:
        return
    rest, last = _last_letter(final)
    if last == "ㅎ":
        if initial in _ASPIRATED and initial != "ㅂ":  # 좋다 → 조타, 많고 → 만코, 좋소 → 조쏘
            left[2], right[0] = rest, _ASPIRATED[initial]
            return
        if initial == "ㅇ":  # 좋아 → 조아, 많아 → 마나 (liaison below)
            final = left[2] = rest
            if not final:
                return
        elif initial == "ㄴ":  # 놓는 → 논는, 않는 → 안는
            final = left[2] = rest or "ㄴ"
    if initial == "ㅎ" and final in _BEFORE_H:
        left[2], right[0] = "", _BEFORE_H[final]
        return
    if initial == "ㅎ" and final in _JOIN.values() and _last_letter(final)[1] in _BEFORE_H:
        rest, last = _last_letter(final)  # 밝히다 → 발키다
        left[2], right[0] = rest, _BEFORE_H[last]
        return
    if initial == "ㅇ" and final != "ㅇ":
        rest, last = _last_letter(final)
        if last in ("ㄷ", "ㅌ") and right[1] == "ㅣ":  # palatalisation: 굳이 → 구지, 같이 → 가치
            last = "ㅈ" if last == "ㄷ" else "ㅊ"
        left[2], right[0] = rest, last
        if rest and last in _TENSE and _NEUTRAL.get(rest, rest) in ("ㄱ", "ㄷ", "ㅂ"):
            right[0] = _TENSE[last]  # 값이 → 갑씨
        return
    final = left[2] = _NEUTRAL.get(final, final)
    if initial == "ㄹ" and final != "ㄹ":
        # ㄹ after any other final is said ㄴ (종로 → 종노, 적립 → 적닙); after ㄴ both are ㄹ (신라 → 실라)
        initial = right[0] = "ㄹ" if final == "ㄴ" else "ㄴ"
        if final == "ㄴ":
            left[2] = "ㄹ"
            return
    if final == "ㄹ" and initial == "ㄴ":  # 설날 → 설랄
        right[0] = "ㄹ"
        return
    if final in _NASAL and initial in ("ㄴ", "ㅁ"):  # 국물 → 궁물, 습니다 → 슴니다
        left[2] = _NASAL[final]
    elif final in ("ㄱ", "ㄷ", "ㅂ") and initial in _TENSE:  # 학교 → 학꾜, 있습니다 → 읻씀니다
        right[0] = _TENSE[initial]


def _word_pronounced(word: str) -> str:
    syllables = [_split(char) for char in word]
    for left, right in pairwise(syllables):
        _between(left, right)
    for i, syllable in enumerate(syllables):
        if syllable[1] == "ㅢ" and (syllable[0] != "ㅇ" or i > 0):  # 희망 → 히망, 회의 → 회이
            syllable[1] = "ㅣ"
    return "".join(_join(syllable) for syllable in syllables)


def korean_pronounced(text: str) -> str:
    """``text`` with each Hangul word spelt as it is said; everything else (Latin, digits, spaces) kept."""
    return _HANGUL_RUN.sub(lambda m: _word_pronounced(m.group(0)), text)
