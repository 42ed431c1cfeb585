"""The venue's own words per language, for the recogniser to expect (``WhisperRecognizer(vocabulary=...)``).

A general speech model does not know "FreshMart" or "Harbour Medical Centre" and writes what it
does know ("Fresh Mart", "Harbor medical center"), or, inside Chinese or Japanese speech, a
phonetic guess in the wrong script. The published knowledge base names these things; the words
a general model is least likely to know are picked from it by how they are written:

- **names in Latin script**: runs of capitalised words, CamelCase and acronyms ("FreshMart",
  "Harbour Cinema", "HSBC", "MTR"). Inside Chinese, Japanese or Korean text every Latin-script
  run is such a name; in English a capitalised word opening a sentence ("Our", "Please") is not.
- **Japanese loanword compounds**: katakana runs of two or more loanwords written as one
  ("ハーバーポイント", "エアポートエクスプレス"), which Sudachi's general dictionary splits; a
  single katakana word it knows ("スーパー", "トイレ") is left to the model.

Names written in Han characters or Hangul (顺丰, 汇丰, 하버 포인트) are not picked: nothing here tells
a name from a common word in those scripts (a segmenter's proper-noun tags were tried on the demo
venue and were mostly wrong). Terms are ranked by the number of the venue's other languages that
write them unchanged (a name stays "FreshMart" where a word is translated), then by the number of
FAQ entries that use them, and bounded (``MAX_TERMS``, ``MAX_CHARS``); the recogniser then keeps
those its model does not know, within its token budget. The vocabulary is rebuilt with the search
index (``kb_index``'s version), so a published change reaches the recogniser at its next
question, in every process.
"""
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from common.languages import KIOSK_LANGUAGES
from knowledgebase.indexing import kb_index
from knowledgebase.retrieval.index import IndexItem

# Candidates handed to the recogniser, which keeps those its model does not know and fits them in
# its own token budget (``avatar_runtime.asr.prompt``).
MAX_TERMS = 40
MAX_CHARS = 600

_CAPITALISED = r"(?<![A-Za-z0-9])(?:[A-Z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*)"
# "Bank of China", "Harbour Point Club", "HarbourPoint Free WiFi": capitalised words, joined by
# spaces or by one of a few linking words.
_LINKS = ("of", "de", "&")
_LATIN_NAME = re.compile(rf"{_CAPITALISED}(?:(?: | of | de | & ){_CAPITALISED})*")
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-' ][A-Za-z0-9]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|[\"“(]\s*)$")
_KATAKANA_RUN = re.compile(r"[\u30a1-\u30fa\u30fc・]{4,}")
_SINGLE_LETTER = re.compile(r"[A-Z]\d?")  # "D" of "Exit D", "B1": floor and exit labels, not names


@dataclass(frozen=True)
class VenueVocabulary:
    """The chosen terms per kiosk language, and the index version they were taken from."""

    version: str
    terms: dict[str, tuple[str, ...]]

    def for_language(self, language: str) -> tuple[str, ...]:
        return self.terms.get(language, ())


def latin_names(text: str, *, english: bool, midsentence: frozenset[str] = frozenset()) -> list[str]:
    """Names in Latin script in ``text``. In English text, the capitalised word that opens a
    sentence ("Please", "Join") is left out unless it is an acronym, CamelCase, or a word the
    venue's texts also capitalise in mid-sentence (``midsentence``: "Harbour Cinema is ...")."""
    if not english:
        return [m.group().strip() for m in _LATIN_RUN.finditer(text) if not _SINGLE_LETTER.fullmatch(m.group().strip())]
    names = []
    for match in _LATIN_NAME.finditer(text):
        words = match.group().split()
        if _SENTENCE_START.search(text[: match.start()]) and not _marked(words[0]) and words[0] not in midsentence:
            words = words[1:]  # "Join Harbour Point Club" -> "Harbour Point Club"
        while words and words[-1] in _LINKS:
            words.pop()
        name = " ".join(words)
        if name and not _SINGLE_LETTER.fullmatch(name):
            names.append(name)
    return names


def midsentence_capitals(texts: Iterable[str]) -> frozenset[str]:
    """Capitalised words that appear other than at the start of a sentence: names, in English."""
    found = set()
    for text in texts:
        for match in re.finditer(_CAPITALISED, text):
            if not _SENTENCE_START.search(text[: match.start()]):
                found.add(match.group())
    return frozenset(found)


def _marked(word: str) -> bool:
    """An acronym (HSBC) or CamelCase (FreshMart): capitals after the first letter."""
    return any(ch.isupper() for ch in word[1:])


@cache
def _sudachi() -> Any:
    from sudachipy import dictionary  # loads a 70 MB dictionary: only when Japanese is asked for

    return dictionary.Dictionary().tokenizer()


def katakana_compounds(text: str) -> list[str]:
    """Katakana runs that Sudachi's general dictionary reads as two or more words."""
    runs = [m.group().strip("・") for m in _KATAKANA_RUN.finditer(text)]
    return [run for run in runs if len(_sudachi().tokenize(run)) >= 2]


def _terms_found(texts_by_entry: Sequence[Sequence[str]], language: str,
                 elsewhere: frozenset[str]) -> tuple[Counter[str], dict[str, int]]:
    """Each candidate term with the number of entries using it, and the order of first appearance.
    ``elsewhere``: capitalised words of the other languages' texts (names: "Wellcare")."""
    english = language == "en"
    midsentence = midsentence_capitals(t for texts in texts_by_entry for t in texts) | elsewhere if english else frozenset()
    entries_using: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for texts in texts_by_entry:
        found: list[str] = []
        for text in texts:
            found += latin_names(text, english=english, midsentence=midsentence)
            if language == "ja":
                found += katakana_compounds(text)
        for term in dict.fromkeys(found):
            entries_using[term] += 1
            first_seen.setdefault(term, len(first_seen))
    return entries_using, first_seen


def terms_pick(texts_by_entry: Sequence[Sequence[str]], language: str, *, other_languages: Sequence[str] = (),
               max_terms: int = MAX_TERMS, max_chars: int = MAX_CHARS) -> tuple[str, ...]:
    """The venue terms of one language, from the texts of each FAQ entry (or document chunk) in it.

    Ranked by the number of translations that write the term unchanged (``other_languages``: the
    venue's texts in the other languages, one string each; a name stays "FreshMart" in every
    language where a word is translated), then by the number of entries using it. A term inside a
    longer one ("Harbour" in "Harbour Cinema") is left out."""
    elsewhere = frozenset(re.findall(_CAPITALISED, "\n".join(other_languages)))
    entries_using, first_seen = _terms_found(texts_by_entry, language, elsewhere)
    candidates = [t for t in entries_using if not any(t != o and t.lower() in o.lower() for o in entries_using)]
    spread = {t: sum(t in other for other in other_languages) for t in candidates}
    chosen: list[str] = []
    for term in sorted(candidates, key=lambda t: (-spread[t], -entries_using[t], first_seen[t])):
        if len(chosen) >= max_terms or sum(map(len, chosen)) + len(term) > max_chars:
            break
        chosen.append(term)
    return tuple(chosen)


def vocabulary_from_items(items: Sequence[IndexItem], version: str = "") -> VenueVocabulary:
    texts = {language: [(item.question, item.answer, *item.alternates) for item in items if item.language == language]
             for language in KIOSK_LANGUAGES}
    joined = {language: "\n".join(t for entry in entries for t in entry) for language, entries in texts.items()}
    terms = {language: terms_pick(texts[language], language,
                                  other_languages=[joined[other] for other in KIOSK_LANGUAGES if other != language])
             for language in KIOSK_LANGUAGES}
    return VenueVocabulary(version, terms)


class _VocabularyHolder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: VenueVocabulary | None = None

    def get(self) -> VenueVocabulary:
        loaded = kb_index()  # rebuilt first when the knowledge base changed
        current = self._current
        if current is not None and current.version == loaded.version:
            return current
        with self._lock:
            if self._current is None or self._current.version != loaded.version:
                self._current = vocabulary_from_items(loaded.index.items, loaded.version)
            return self._current


_holder = _VocabularyHolder()


def venue_vocabulary() -> VenueVocabulary:
    """The vocabulary of the published knowledge base as it is now (blocking: call in a thread)."""
    return _holder.get()


def venue_terms(language: str) -> tuple[str, ...]:
    """The venue terms for ``language``: the recogniser's vocabulary protocol."""
    return venue_vocabulary().for_language(language)
