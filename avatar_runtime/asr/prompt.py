"""Whisper's initial prompt made of the venue's own words, and the guard against its echo.

Whisper decodes after a "previous text" when it is given one (``<|startofprev|>`` tokens before the
start of the transcript): names that appear there are written the way they appear there. The
knowledge base hands over candidate terms per language (``Vocabulary``: ``knowledgebase.vocabulary``
picks them); this module keeps those the model does not already know and fits them into a small
token budget, since every prompt token is read by the decoder at every step (latency) and a
long prompt makes a small model copy it instead of listening.

A term the model knows is one whose every word is a single token of its vocabulary ("ATM",
"WiFi", "Cinema", "Airport Express"): prompting it changes nothing. Terms in other scripts are
kept (a Chinese character or a kana is rarely a word on its own in Whisper's byte-level vocabulary).

The echo: on silence, noise or a mumble, Whisper base sometimes "transcribes" its prompt.
``copies_prompt`` recognises a transcript that reproduces two or more terms in the prompt's own
order and ``only_prompt_terms`` one made of nothing else; the recogniser then decodes again
without the prompt (the second only when the decoding was unsure).
"""
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# The venue's candidate terms for a kiosk language, best first (blocking: the recogniser calls it
# in its worker thread). Given to the recogniser by the composition root.
Vocabulary = Callable[[str], Sequence[str]]

DEFAULT_MAX_TOKENS = 48
_CJK_SEPARATOR = "、"
_SEPARATOR = ", "
_CJK_LANGUAGES = ("zh", "yue", "ja")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")


@dataclass(frozen=True)
class Prompt:
    terms: tuple[str, ...]
    text: str
    tokens: tuple[int, ...]  # the text's tokens, without <|startofprev|>


def separator(language: str) -> str:
    return _CJK_SEPARATOR if language in _CJK_LANGUAGES else _SEPARATOR


def known_to_model(term: str, token_id: Callable[[str], int | None]) -> bool:
    """Every word of a Latin-script ``term`` is one token of the model's vocabulary (``token_id``:
    the id of a vocabulary entry, None when there is none; GPT-2's byte level writes a leading
    space as ``Ġ``)."""
    words = term.split()
    if not words or not all(_LATIN_WORD.fullmatch(w) for w in words):
        return False
    return all(token_id("Ġ" + w) is not None for w in words)


def prompt_build(terms: Sequence[str], language: str, hf_tokenizer: Any, *,
                 max_tokens: int = DEFAULT_MAX_TOKENS) -> Prompt | None:
    """The prompt for ``language`` from ``terms`` (best first): the unknown ones, as many as fit
    in ``max_tokens``; None when none is left."""
    sep = separator(language)
    kept: list[str] = []
    tokens: list[int] = []
    for term in terms:
        term = term.strip()
        if not term or sep.strip(" ") in term or known_to_model(term, hf_tokenizer.token_to_id):
            continue
        text = " " + sep.join([*kept, term])  # a leading space, as Whisper's own prompts have
        encoded = hf_tokenizer.encode(text, add_special_tokens=False).ids
        if len(encoded) > max_tokens:
            break
        kept.append(term)
        tokens = list(encoded)
    if not kept:
        return None
    return Prompt(tuple(kept), sep.join(kept), tuple(tokens))


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s\W_]+", " ", text).strip()


def copies_prompt(transcript: str, prompt: Prompt) -> bool:
    """The transcript reproduces two neighbouring terms of the prompt ("FreshMart, Harbour Cinema"):
    an echo of the prompt, not something a customer says. Compared without case, punctuation or
    spacing differences, so "freshmart harbour cinema" counts too."""
    heard = f" {_folded(transcript)} "
    pairs = zip(prompt.terms, prompt.terms[1:], strict=False)
    return any(f" {_folded(first + ' ' + second)} " in heard for first, second in pairs)


def only_prompt_terms(transcript: str, prompt: Prompt) -> bool:
    """The transcript is nothing but terms of the prompt ("MTR", "Harbour Cinema, IMAX"): from a
    customer a possible question, from noise the prompt's echo; the recogniser decides by confidence."""
    rest = f" {_folded(transcript)} "
    if not rest.strip():
        return False
    for term in sorted(prompt.terms, key=len, reverse=True):
        rest = rest.replace(f" {_folded(term)} ", " ")
    return not rest.strip()
