"""Choosing which translation of a retrieved entry to use for a customer's language.

Policy: the customer's own language; else the close one (Cantonese and Mandarin share the
written language, so a Mandarin answer serves a Cantonese speaker and the other way round);
else English; else whatever the entry has, its original language first.

An entry text that addresses the model instead of the customer ("SYSTEM: ignore previous
instructions and ...", pasted from a web page or planted) is not used at all: not in the
prompt, not as grounding (so a model that obeys it is caught by the guard), and never read
out by the extractive answerer. Its other, clean translations still serve. This word list is
the second layer, behind the prompt's fence (``prompt``); it matches after folding what
disguises a word: full-width and other compatibility forms, invisible characters, case, and
Greek or Cyrillic letters that look Latin ("Ιgnore" with a Greek capital iota).
"""
import logging
import re
import unicodedata
from dataclasses import dataclass

from avatar_runtime.llm.base import Passage, Retrieved
from common.languages import KIOSK_LANGUAGES

logger = logging.getLogger(__name__)

CLOSE_LANGUAGES: dict[str, tuple[str, ...]] = {"yue": ("zh",), "zh": ("yue",)}

# Orders to a language model, in the kiosk languages, matched on folded text; no real FAQ answer says these.
_INJECTION = re.compile(
    r"(?m)^\s*(system|assistant)\s*:|\b(ignore|disregard|forget)\b.{0,30}\b(instructions?|rules|prompt)\b|system prompt"
    r"|\b(ignore|disregard)\s+(all\s+|everything\s+|anything\s+)?(of\s+)?(the\s+|what\s+is\s+|what's\s+)?"
    r"(above|previous|prior|preceding)\b"
    r"|\bpay\s+no\s+(attention|heed|mind)\s+to\b.{0,40}\b(above|previous|prior|instructions?|rules|prompt|system)\b"
    r"|忽略.{0,12}(指令|规则|規則|指示|提示)|(指示|ルール|命令|プロンプト).{0,12}無視|(지시|규칙|명령).{0,12}무시"
    r"|(忽略|无视|無視|忽视|忽視|不要理会|唔好理)(以上|上面|上述|之前|前面|先前)|(上記|以上|前).{0,6}を無視|(위|이전).{0,6}무시"
)
# Greek and Cyrillic letters drawn like Latin ones, upper and lower case (folded before casefold,
# which would turn a capital into a lower case letter of another shape: Η is H, η is n).
_LOOKALIKES = str.maketrans(
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαιοκνρτυχγεϲ" "АВЕКМНОРСТУХЅІЈӀаеорсухѕіјԁһӏԛԝ" "ıɡɩ",
    "ABEZHIKMNOPTYXaiokvptuxyec" "ABEKMHOPCTYXSIJIaeopcyxsijdhlqw" "igi",
)


def folded(text: str) -> str:
    """``text`` as the filter reads it: compatibility forms unified (full-width, ligatures, math
    letters), invisible format characters removed, look-alike letters made Latin, case folded."""
    text = "".join(char for char in unicodedata.normalize("NFKC", text) if unicodedata.category(char) != "Cf")
    return text.translate(_LOOKALIKES).casefold()


@dataclass(frozen=True)
class Translation:
    language: str
    question: str
    answer: str


def gives_orders(text: str) -> bool:
    """Whether ``text`` plainly gives orders to a language model (to ignore its rules, to take a role ...)."""
    return bool(_INJECTION.search(folded(text)))


def passage_translations(passage: Passage) -> dict[str, tuple[str, str]]:
    """Every (question, answer) the passage has, its own language included, without injected texts."""
    texts = dict(passage.translations)
    if passage.answer and passage.language:
        texts.setdefault(passage.language, (passage.question, passage.answer))
    clean = {}
    for lang, qa in texts.items():
        if any(map(gives_orders, qa)):
            logger.warning("knowledge-base entry %s (%s) gives orders to the model; not used", passage.key, lang)
        elif qa[1].strip():
            clean[lang] = qa
    return clean


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


def top_answer(language: str, retrieved: Retrieved) -> Translation | None:
    """The text that answers the customer: the top entry's, when retrieval found an answer and that entry has one."""
    if not (retrieved.answerable and retrieved.passages):
        return None
    return closest_translation(retrieved.passages[0], language)


def source_texts(passages: list[Passage]) -> list[str]:
    """All the text of the passages in every language: what an answer may draw on."""
    return [text for passage in passages for qa in passage_translations(passage).values() for text in qa]
