"""The FAQ editor's "try it" box: what the avatar would retrieve and say for a question.

It goes through the same two steps the runtime takes for a customer's turn
(``knowledgebase.runtime_retrieval.retrieve`` and the configured answerer), so staff see the kiosk's
real behaviour for the published knowledge base, not an approximation of it; with drafts
included, what the kiosks would do once those drafts are published.
"""
import asyncio
from dataclasses import dataclass

from django.utils.translation import gettext as _

from avatar_runtime.factory import answerer
from avatar_runtime.llm.base import Retrieved, closing
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES
from knowledgebase.runtime_retrieval import retrieve
from knowledgebase.selectors import MAX_QUERY_CHARS, document_id_from_key, draft_keys

TRY_K = 5


@dataclass(frozen=True)
class TryHit:
    """One retrieved passage: an FAQ entry (``document_id`` None) or a chunk of a document."""

    key: str
    language: str
    question: str
    score: float
    document_id: int | None = None
    draft: bool = False  # a draft entry or document: no kiosk answers with it yet


@dataclass(frozen=True)
class TryResult:
    query: str
    language: str
    answerable: bool
    hits: list[TryHit]
    answer: str
    answered_by: str
    include_drafts: bool = False


def faq_try(*, query: str, language: str, include_drafts: bool = False) -> TryResult:
    """Retrieve for ``query`` in ``language`` (published content, and drafts with
    ``include_drafts``) and let the configured answerer answer it (blocking)."""
    text = query.strip()
    if language not in KIOSK_LANGUAGES:
        raise ApplicationError("invalid_language", f"Unknown language {language!r}.")
    if not text:
        raise ApplicationError("query_empty", _("Type a question to try."))
    if len(text) > MAX_QUERY_CHARS:
        raise ApplicationError("query_too_long", _("Questions are limited to %(count)d characters.") % {"count": MAX_QUERY_CHARS})
    retrieved = retrieve(text, language, TRY_K, include_drafts=include_drafts)
    answer, answered_by = asyncio.run(_answer(text, language, retrieved))
    keys = [p.key for p in retrieved.passages]
    drafts = draft_keys(keys) if include_drafts else set()
    hits = [TryHit(p.key, p.language, p.question, p.score, document_id_from_key(p.key), p.key in drafts)
            for p in retrieved.passages]
    return TryResult(text, language, retrieved.answerable, hits, answer, answered_by, include_drafts)


async def _answer(question: str, language: str, retrieved: Retrieved) -> tuple[str, str]:
    chosen = answerer()
    sentences: list[str] = []
    stream = chosen.answer(question, language, retrieved, [])
    async with closing(stream) as opened:
        async for sentence in opened:
            sentences.append(sentence)
    outcome = getattr(stream, "outcome", None)
    separator = "" if language in ("zh", "yue", "ja") else " "
    return separator.join(s.strip() for s in sentences), getattr(outcome, "answered_by", "") or chosen.name
