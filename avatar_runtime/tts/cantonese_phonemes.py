"""Cantonese text as Kokoro phonemes: canto-hk-g2p's IPA, in the shape of Kokoro's Mandarin phonemes.

Kokoro v1.0 has no Cantonese voice, but its Mandarin voices read IPA with tone arrows. canto-hk-g2p
(Apache-2.0) turns written Cantonese into IPA with Chao tone letters, colloquial characters (嘅 喺
咗), numbers and inline English included. Here each syllable's tone letters become the Mandarin tone
arrow nearest in contour, placed after the vowel as misaki writes Mandarin, and the symbols Kokoro
never saw are dropped or replaced. Six tones onto four arrows and a toneless syllable: the result has
a Mandarin accent, and is still far clearer than espeak-ng's formant Cantonese (see
``bench/results/voice_intelligibility_yue.md``).
"""
import re
import threading
from functools import cache
from typing import Any

from avatar_runtime.tts.espeak_ipa import english_ipa

# Chao tone letters (canto-hk-g2p writes them after each syllable) to Kokoro's Mandarin tone arrows.
TONE_ARROWS = {
    "˥": "→",  # 1, high level (55): Mandarin's first tone
    "˥˧": "→",  # 1, high falling (53), an older variant of the first tone
    "˧˥": "↗",  # 2, high rising (35): the second tone
    "˧": "",  # 3, mid level (33): no Mandarin tone is mid and level
    "˨˩": "↓",  # 4, low falling (21): the third tone as said in running speech (21)
    "˩": "↓",
    "˩˧": "↗",  # 5, low rising (23)
    "˨": "↓",  # 6, low level (22)
}
_SYLLABLE = re.compile(r"([^\s˥˦˧˨˩]+)([˥˦˧˨˩]+)")
_LAST_VOWEL = re.compile(r"(.*[aeiouyɐɛɔœøɪʊəɑɚ]ː?)(.*)")
_UNSEEN = str.maketrans({
    "\u032f": None, "\u031a": None, "\u0329": None,  # non-syllabic, unreleased and syllabic marks
    "ɵ": "ø", "-": " ",
    "。": ".", "，": ",", "、": ",", "？": "?", "！": "!", "：": ":", "；": ";",
})
# Affricates are one symbol in Kokoro's Mandarin (ʦ), and it has no labialisation mark.
_KOKORO_SYMBOLS = (("tsʰ", "ʦʰ"), ("ts", "ʦ"), ("kʷʰ", "kʰw"), ("kʷ", "kw"))
_LETTERS_LEFT = re.compile(r"[A-Z][A-Za-z]*")  # the g2p's IPA is lower case: these it left as written
_CAMEL_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z])")
_lock = threading.Lock()


@cache
def _pipeline() -> Any:
    from canto_hk_g2p import Pipeline  # its lexicon loads on first use

    return Pipeline()


def cantonese_ipa(text: str) -> str:
    text = _CAMEL_HUMP.sub(" ", text)  # "HarbourPoint": the g2p reads English word by word
    with _lock:
        ipa = str(_pipeline().convert_ipa(text))
    ipa = _LETTERS_LEFT.sub(lambda m: english_ipa(m.group(0)), ipa.translate(_UNSEEN))  # "BB車": letters, said
    for written, kokoro in _KOKORO_SYMBOLS:
        ipa = ipa.replace(written, kokoro)
    return kokoro_syllables(ipa)


def kokoro_syllables(ipa: str) -> str:
    """``haː˧˥`` → ``haː↗``, ``fʊŋ˥`` → ``fʊ→ŋ``: the arrow after the last vowel, before any coda."""
    def one(match: re.Match[str]) -> str:
        syllable, tone = match.group(1), TONE_ARROWS.get(match.group(2), "")
        split = _LAST_VOWEL.match(syllable)
        return f"{split.group(1)}{tone}{split.group(2)}" if split else f"{syllable}{tone}"

    return " ".join(_SYLLABLE.sub(one, ipa).split())
