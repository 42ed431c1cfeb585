"""Choosing which translation of a retrieved entry to use for a customer's language.

Policy: the customer's own language; else the close one (Cantonese and Mandarin share the
written language, so a Mandarin answer serves a Cantonese speaker and the other way round);
else English; else whatever the entry has, its original language first.
"""
from dataclasses import dataclass

from avatar_runtime.llm.base import Passage
from common.languages import KIOSK_LANGUAGES

CLOSE_LANGUAGES: dict[str, tuple[str, ...]] = {"yue": ("zh",), "zh": ("yue",)}


@dataclass(frozen=True)
class Translation:
    language: str
    question: str
    answer: str


def passage_translations(passage: Passage) -> dict[str, tuple[str, str]]:
    """Every (question, answer) the passage has, its own language included."""
    texts = dict(passage.translations)
    if passage.answer and passage.language:
        texts.setdefault(passage.language, (passage.question, passage.answer))
    return {lang: qa for lang, qa in texts.items() if qa[1].strip()}


def language_preference(language: str, original: str = "") -> list[str]:
    order = [language, *CLOSE_LANGUAGES.get(language, ()), "en", original, *KIOSK_LANGUAGES]
    return list(dict.fromkeys(lang for lang in order if lang))


def closest_translation(passage: Passage, language: str) -> Translation | None:
    """The passage's text in ``language`` or the closest language it has; None if it has no answer."""
    texts = passage_translations(passage)
    for candidate in [*language_preference(language, passage.language), *sorted(texts)]:
        if candidate in texts:
            question, answer = texts[candidate]
            return Translation(candidate, question, answer)
    return None


def source_texts(passages: list[Passage]) -> list[str]:
    """All the text of the passages in every language: what an answer may draw on."""
    return [text for passage in passages for qa in passage_translations(passage).values() for text in qa]
