"""Scoring what a recogniser heard against what was said: CER for zh/yue/ja/ko, WER for English.

Normalisation (the same for reference and transcript, so only real mistakes count):
- Unicode NFKC: full-width letters, digits and punctuation become their half-width forms
  (``ＡＴＭ`` → ``ATM``, ``１`` → ``1``), half-width katakana become full-width;
- lower case;
- Chinese (zh and yue): Traditional characters folded onto Simplified, character by character
  (``knowledgebase.retrieval.hanzi``), since Whisper writes either script for either language;
- punctuation and symbols (Unicode categories P* and S*) dropped; for CER every space is dropped too,
  for WER the text is split into words on spaces.
- English only, where one spoken word has several written forms (Whisper's own normaliser does the
  same): "a.m." is "am", "10:30 am" and "1030 AM" are one time, "HK$25" is "25 Hong Kong dollars",
  "1,000" is "1000", "eight" is "8" and "third" "3rd", "2888 6000" is "28886000", "B1" is "B 1", British spellings
  are American ("Harbour" heard as "Harbor"), apostrophes go ("kids'" = "kid's").
Otherwise numbers are *not* normalised: ``二楼`` heard as ``2楼`` counts as one substituted character,
and ``B1`` as ``B 1`` counts as nothing (spaces are dropped) in CER but as a wrong word in WER.
"""
import re
import unicodedata

from knowledgebase.retrieval.hanzi import fold_traditional

WORD_LANGUAGES = frozenset({"en"})


_SPELLING = {"harbour": "harbor", "centre": "center", "theatre": "theater", "colour": "color", "favourite": "favorite",
             "neighbour": "neighbor", "metre": "meter", "litre": "liter", "jewellery": "jewelry", "cheque": "check"}
_NUMBERS = {word: str(n) for n, word in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
_ORDINALS = {"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th", "sixth": "6th",
             "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th"}
_DOTTED = re.compile(r"\b([a-z])\.([a-z])\.")  # a.m., p.m.
# HK$25, $25, and Whisper's "$25 Hong Kong dollars" for the spoken "25 Hong Kong dollars"
_MONEY = re.compile(r"(hk)?\$\s?(\d[\d,]*(?:\.\d+)?)(\s+hong kong dollars\b)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# where digits and letters meet: 10.30am, B1 (heard as "B 1"); not 5th
_DIGITS_AND_LETTERS = re.compile(r"(?<=\d)(?!(?:st|nd|rd|th)\b)(?=[a-z])|(?<=[a-z])(?=\d)")


def _english_words(text: str) -> list[str]:
    """English words in one written form per spoken form (see the module docstring)."""
    text = re.sub("['’]", "", text)
    text = _DOTTED.sub(r"\1\2", text)
    text = _MONEY.sub(lambda m: f" {m.group(2)} {'hong kong ' if m.group(1) or m.group(3) else ''}dollars ", text)
    text = _DIGITS_AND_LETTERS.sub(" ", _THOUSANDS.sub("", text))
    words = [_SPELLING.get(w, _NUMBERS.get(w, _ORDINALS.get(w, w))) for w in _without_punctuation(text).split()]
    joined: list[str] = []
    for word in words:  # digit groups said as one number: "10 30" (10:30), "2888 6000"
        if joined and word.isdigit() and joined[-1].isdigit():
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _without_punctuation(text: str) -> str:
    return "".join(" " if unicodedata.category(c)[0] in "PSZ" else c for c in text)


def normalize(text: str, language: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    if language in WORD_LANGUAGES:
        return " ".join(_english_words(text))
    if language in ("zh", "yue"):
        text = fold_traditional(text)
    return " ".join(_without_punctuation(text).split())


def units(text: str, language: str) -> list[str]:
    """The units errors are counted in: words for English, characters (spaces aside) otherwise."""
    normalized = normalize(text, language)
    return normalized.split() if language in WORD_LANGUAGES else list(normalized.replace(" ", ""))


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance: substitutions, insertions and deletions, one each."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    """CER (WER for English) of ``hypothesis`` against ``reference``; can exceed 1 when the transcript runs on."""
    ref = units(reference, language)
    return edit_distance(ref, units(hypothesis, language)) / max(1, len(ref))


def _squeezed(text: str, language: str) -> str:
    normalized = normalize(text, language)
    return normalized if language in WORD_LANGUAGES else normalized.replace(" ", "")


def missing_words(transcript: str, words: list[str], language: str) -> list[str]:
    """The ``words`` not found in ``transcript``, both normalised (spaces ignored outside English)."""
    heard = _squeezed(transcript, language)
    return [word for word in words if _squeezed(word, language) not in heard]
