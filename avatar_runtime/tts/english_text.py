"""English answer text as Piper should say it (what espeak-ng's text rules, inside Piper, read badly).

Heard back by Whisper base (bench/results/voice_intelligibility_en_*.md): Piper reads "HK$25" as
letters and a bare dollar amount ("h $1.25"), and "IMAX" as a word ("in Max"). Written out as a
person says them, "25 Hong Kong dollars" and "I-MAX" are heard word for word.
"""
import re

_HK_DOLLARS = re.compile(r"\bHK\$\s?(\d[\d,]*(?:\.\d+)?)")
# Names read as words that are said letter by letter (or the other way round), as spoken.
_RESPELT = {"IMAX": "I-MAX"}
_RESPELT_WORD = re.compile(r"\b(" + "|".join(map(re.escape, _RESPELT)) + r")\b")


def english_spoken(text: str) -> str:
    text = _HK_DOLLARS.sub(lambda m: f"{m.group(1)} Hong Kong dollars", text)
    return _RESPELT_WORD.sub(lambda m: _RESPELT[m.group(1)], text)
