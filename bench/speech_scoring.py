"""Scoring what a recogniser heard against what was said: CER for zh/yue/ja/ko, WER for English.

Normalisation (the same for reference and transcript, so only real mistakes count):
- Unicode NFKC: full-width letters, digits and punctuation become their half-width forms
  (``ＡＴＭ`` → ``ATM``, ``１`` → ``1``), half-width katakana become full-width;
- lower case;
- Chinese (zh and yue): Traditional characters folded onto Simplified, character by character
  (``knowledgebase.retrieval.hanzi``), since Whisper writes either script for either language;
- punctuation and symbols (Unicode categories P* and S*) dropped; for CER every space is dropped too,
  for WER the text is split into words on spaces.
Numbers are *not* normalised: ``二楼`` heard as ``2楼`` counts as one substituted character, and
``B1`` as ``B 1`` counts as nothing (spaces are dropped) in CER but as a wrong word in WER.
"""
import unicodedata

from knowledgebase.retrieval.hanzi import fold_traditional

WORD_LANGUAGES = frozenset({"en"})


def normalize(text: str, language: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    if language in ("zh", "yue"):
        text = fold_traditional(text)
    kept = "".join(" " if unicodedata.category(c)[0] in "PSZ" else c for c in text)
    return " ".join(kept.split())


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
