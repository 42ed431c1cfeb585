"""Comparable units of text in any of the five languages, for measuring overlap.

CJK text has no spaces, so it is compared by character bigrams within each run of Han, kana
or hangul (a lone character counts as itself); Latin text by lower-cased words without
common function words, with a plural/verb ``s`` trimmed. Numbers are extracted separately,
normalised (full-width digits, ``1,000``), and times add the hour on both clocks so that
``9 p.m.``, ``21:00`` and ``晚上9点`` can be matched.
"""
import re
import unicodedata

from avatar_runtime.text.scripts import is_cjk

_LATIN_WORD = re.compile(r"[a-z][a-z']*")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_CLOCK = re.compile(r"(\d{1,2})\s*[:：]\s*(\d{2})")
_HOUR_MERIDIEM = re.compile(r"(\d{1,2})(?:[:：]\d{2})?\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
_PM_WORDS = re.compile(r"(下午|晚上|夜晚|夜间|夜間|傍晚|午後|夜|오후|저녁|밤)\s*(\d{1,2})")

_STOPWORD_TEXT = """a an the and or but if so of to in on at by for from with without as is are was were be been being
am do does did it its it's this that these those there here i you he she we they me him her us them my your our their his
can could will would shall should may might must have has had not no yes just also very too please
what when where which who how than then into onto about up down out over under again any some all each
i'm you're we're that's there's don't doesn't isn't aren't can't won't i'll you'll we'll let's"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _stem(word: str) -> str:
    word = word.strip("'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def _cjk_units(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def content_units(text: str) -> list[str]:
    """The words (Latin) and character bigrams (CJK) of ``text``; numbers are not included."""
    text = normalize(text)
    units: list[str] = []
    run = ""
    for char in text + " ":
        if is_cjk(char):
            run += char
            continue
        if run:
            units.extend(_cjk_units(run))
            run = ""
    latin = "".join(" " if is_cjk(c) else c for c in text)
    for word in _LATIN_WORD.findall(latin):
        stemmed = _stem(word)
        if len(stemmed) >= 2 and word not in STOPWORDS and stemmed not in STOPWORDS:
            units.append(stemmed)
    return units


def _canonical_number(token: str) -> str:
    value = token.replace(",", "")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value.lstrip("0") or "0"


def numbers(text: str) -> list[str]:
    """The numbers written with digits in ``text``, canonical (``"010"`` → ``"10"``, ``"1,000"`` → ``"1000"``)."""
    return [_canonical_number(token) for token in _NUMBER.findall(normalize(text))]


def hours(text: str) -> set[str]:
    """Clock hours in ``text`` on the 24-hour clock (``9 p.m.`` and ``晚上9点`` give 21)."""
    text = normalize(text)
    found = {str(int(h)) for h, _ in _CLOCK.findall(text)}
    for hour, meridiem in _HOUR_MERIDIEM.findall(text):
        value = int(hour) % 12 + (12 if meridiem.lower() == "p" else 0)
        found.add(str(value))
    for _, hour in _PM_WORDS.findall(text):
        if int(hour) < 12:
            found.add(str(int(hour) + 12))
    return found


def number_vocabulary(texts: list[str]) -> set[str]:
    """Every number in ``texts``, with each clock hour also on the other clock (21 and 9)."""
    vocabulary = {"0"}
    for text in texts:
        vocabulary.update(numbers(text))
        for hour in hours(text):
            value = int(hour)
            vocabulary.update({str(value), str(value % 12 or 12)})
    return vocabulary


def unsupported_numbers(text: str, vocabulary: set[str]) -> list[str]:
    """Numbers in ``text`` that ``vocabulary`` (see :func:`number_vocabulary`) does not contain."""
    return [number for number in numbers(text) if number not in vocabulary]
