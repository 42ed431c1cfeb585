"""Reads of the knowledge base: hybrid search for the avatar and the console, and the FAQ
list behind the API."""
import logging
import re
import time
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from avatar_runtime.errors import ProviderError
from avatar_runtime.llm.passages import language_preference
from common.errors import MAX_ID, ApplicationError, NotFound
from common.languages import KIOSK_LANGUAGES, normalize_language
from common.text import search_fold
from knowledgebase.answer_check import TOP_LOGPROBS, answer_check_messages, answer_check_score
from knowledgebase.close_call import MAX_TOKENS as CLOSE_CALL_TOKENS
from knowledgebase.close_call import Choice, close_call_choice, close_call_messages, is_close
from knowledgebase.indexing import kb_index
from knowledgebase.llm import ChatModel, configured_model
from knowledgebase.models import Document, FaqEntry, FaqRevision, FaqTranslation
from knowledgebase.retrieval.decision import Mode, calibration_load
from knowledgebase.retrieval.index import Candidate, SearchIndex
from knowledgebase.retrieval.languages import guess_language
from knowledgebase.retrieval.text import lexical_terms

logger = logging.getLogger(__name__)
MAX_K = 50
MAX_QUERY_CHARS = 1000
_DOCUMENT_KEY = re.compile(r"doc:(\d+)#\d+")  # how search names a document chunk (``indexing._chunk_item``)


@dataclass(frozen=True)
class SearchHit:
    """One FAQ entry (or document chunk) that matches. ``language``/``question``/``answer`` are
    the best translation to show: the query's language when the entry has it. ``score`` is
    the re-ranker's probability that this is the right one of the first ``RERANK_DEPTH`` (0
    below them), or the first stage's fused score without a re-ranker (a lexical-only search)."""

    key: str
    language: str
    question: str
    answer: str
    score: float
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "language": self.language, "question": self.question, "answer": self.answer,
                "score": round(self.score, 4)}


@dataclass(frozen=True)
class SearchResult:
    """``answerable`` says whether ``results[0]`` answers the question; ``mode`` is "hybrid", or
    "lexical" when a sentence encoder (e5, USE) is missing; ``confidence`` is the decision's probability."""

    answerable: bool
    results: list[SearchHit]
    mode: Mode = "hybrid"
    confidence: float = 0.0
    elapsed_ms: float = 0.0
    # A close call the language model settled (``close_call``): "" when none was asked, else
    # "kept" (it chose retrieval's first), "picked" (another), "none" (no entry answers),
    # "failed" (no usable reply in time: retrieval's answer stands); ``llm_ms`` its time.
    close_call: str = ""
    # The answer check (``answer_check``): the model's log P(yes) - log P(no) that the first entry's
    # answer tells what was asked; None when it was not asked or gave no usable reply. Under
    # ``KB_ANSWER_CHECK_FLOOR`` the search is declined. ``llm_ms``: both model calls' time.
    answer_check: float | None = None
    llm_ms: float = 0.0


def faq_search(query: str, language: str | None = None, k: int = 5, *, include_drafts: bool = False) -> SearchResult:
    """The ``k`` published FAQ entries and document chunks that best match ``query`` in any of
    the five languages, FAQ first when both match. ``language`` is the customer's language
    (guessed from the script when None); ``include_drafts`` searches drafts too (the console's
    "try it", never a kiosk)."""
    started = time.perf_counter()
    text = query.strip()[:MAX_QUERY_CHARS]
    if not 1 <= k <= MAX_K:
        raise ApplicationError("invalid_k", f"k must be between 1 and {MAX_K}.")
    code = normalize_language(language) if language else guess_language(text)
    if code is None:
        raise ApplicationError("invalid_language", f"Unknown language {language!r}; use one of {', '.join(KIOSK_LANGUAGES)}.")
    loaded = kb_index(include_drafts=include_drafts)
    mode: Mode = "hybrid" if loaded.encoder is not None and loaded.index.dense else "lexical"
    if not text:
        return SearchResult(False, [], mode)
    calibration = calibration_load()
    query_vector = loaded.encoder.queries([text])[0] if mode == "hybrid" and loaded.encoder is not None else None
    ranking = loaded.index.rank(query_vector=query_vector, terms=lexical_terms(text), language=code,
                                params=calibration.fusion, reranker=calibration.reranker)
    hits = [_hit(loaded.index, candidate) for candidate in ranking.candidates[:k]]
    decision = calibration.decision(mode)
    confidence = decision.probability(ranking.features) if ranking.features else 0.0
    # the knowledge base's own threshold when it could be computed (``self_calibration``)
    threshold = loaded.self_calibration.threshold if mode == "hybrid" and loaded.self_calibration else decision.threshold
    answerable = bool(hits) and confidence >= threshold
    result = SearchResult(answerable, hits, mode, confidence)
    model = configured_model() if settings.KB_CLOSE_CALLS or settings.KB_ANSWER_CHECK else None
    if (model is not None and settings.KB_CLOSE_CALLS and answerable
            and is_close([hit.score for hit in hits], settings.KB_CLOSE_CALL_MARGIN)):
        result = _close_call(text, result, model)
    if model is not None and settings.KB_ANSWER_CHECK and result.answerable:
        result = _answer_check(text, result, model)
    return replace(result, elapsed_ms=(time.perf_counter() - started) * 1000)


def _close_call(question: str, result: SearchResult, model: ChatModel) -> SearchResult:
    """``result`` as the model settles its close call (unchanged when the model fails)."""
    choices = [Choice(hit.key, hit.question, hit.answer) for hit in result.results]
    started = time.perf_counter()
    try:
        reply = model.chat(close_call_messages(question, choices), max_tokens=CLOSE_CALL_TOKENS, temperature=0.0,
                           timeout=settings.KB_CLOSE_CALL_TIMEOUT_S)
    except ProviderError as exc:
        logger.warning("knowledge base: close call not settled: %s", exc)
        reply = ""
    llm_ms = (time.perf_counter() - started) * 1000
    choice = close_call_choice(reply, len(choices))
    if choice is None:
        return replace(result, close_call="failed", llm_ms=llm_ms)
    if choice < 0:
        return replace(result, answerable=False, close_call="none", llm_ms=llm_ms)
    hits = [result.results[choice], *(hit for i, hit in enumerate(result.results) if i != choice)]
    return replace(result, results=hits, close_call="kept" if choice == 0 else "picked", llm_ms=llm_ms)


def _answer_check(question: str, result: SearchResult, model: ChatModel) -> SearchResult:
    """``result`` declined when the model says its first entry's answer does not tell what was
    asked (unchanged when the model fails or gives no usable reply)."""
    best = result.results[0]
    started = time.perf_counter()
    try:
        alternatives = model.first_token_alternatives(answer_check_messages(question, best.question, best.answer),
                                                      top=TOP_LOGPROBS, timeout=settings.KB_ANSWER_CHECK_TIMEOUT_S)
    except ProviderError as exc:
        logger.warning("knowledge base: answer check not made: %s", exc)
        alternatives = []
    llm_ms = result.llm_ms + (time.perf_counter() - started) * 1000
    score = answer_check_score(alternatives)
    declined = score is not None and score < settings.KB_ANSWER_CHECK_FLOOR
    return replace(result, answerable=not declined, answer_check=score, llm_ms=llm_ms)


def document_id_from_key(key: str) -> int | None:
    """The document a search hit's key ``doc:<document id>#<position>`` points to; None for an FAQ key."""
    match = _DOCUMENT_KEY.fullmatch(key)
    return int(match[1]) if match else None


def draft_keys(keys: list[str]) -> set[str]:
    """Which of these search keys (FAQ keys, ``doc:<id>#<position>``) are drafts."""
    documents = {key: document_id_from_key(key) for key in keys}
    draft = FaqEntry.Status.DRAFT
    faq_drafts = set(FaqEntry.objects.filter(key__in=[k for k, d in documents.items() if d is None], status=draft)
                     .values_list("key", flat=True))
    draft_documents = set(Document.objects.filter(pk__in={d for d in documents.values() if d is not None}, status=draft)
                          .values_list("pk", flat=True))
    return faq_drafts | {key for key, document in documents.items() if document in draft_documents}


def _hit(index: SearchIndex, candidate: Candidate) -> SearchHit:
    shown = index.items[candidate.item]
    translations = {index.items[i].language: (index.items[i].question, index.items[i].answer)
                    for i in index.group_items[candidate.group]}
    return SearchHit(shown.group, shown.language, shown.question, shown.answer, candidate.score, translations)


def faq_list(
    *, tag: str | None = None, status: str | None = None, has_language: str | None = None,
    missing_language: str | None = None, query: str | None = None,
) -> QuerySet[FaqEntry]:
    """FAQ entries for the console, filtered by tag, status (archived entries only when asked
    for), a language they have or lack, and a piece of their key or of any translation's
    question, answer or alternates (ignoring case, width and Latin accents: ``search_fold``)."""
    entries = FaqEntry.objects.prefetch_related("translations", "tags")
    if tag:
        entries = entries.filter(tags__name=tag)
    entries = entries.filter(status=status) if status else entries.exclude(status=FaqEntry.Status.ARCHIVED)
    if has_language:
        entries = entries.filter(translations__language=has_language)
    if missing_language:
        entries = entries.exclude(translations__language=missing_language)
    if query:
        folded = search_fold(query.strip())
        matching = FaqTranslation.objects.filter(search_text__contains=folded).values("entry_id")
        entries = entries.filter(Q(key__icontains=query.strip()) | Q(pk__in=matching))
    return entries.distinct().order_by("key")


def faq_outdated_list() -> QuerySet[FaqTranslation]:
    """Translations marked out of date (another language's answer changed since they were last
    edited), oldest first, of entries that are not archived."""
    return (FaqTranslation.objects.exclude(outdated_since=None).exclude(entry__status=FaqEntry.Status.ARCHIVED)
            .select_related("entry").order_by("outdated_since", "entry__key", "language"))


def faq_get(*, key: str) -> FaqEntry:
    try:
        return FaqEntry.objects.prefetch_related("translations", "tags").get(key=key)
    except FaqEntry.DoesNotExist as exc:
        raise NotFound("faq_not_found", f"No FAQ entry with key {key!r}.") from exc


def faq_revision_list(*, entry: FaqEntry) -> list[FaqRevision]:
    """The entry's revisions, newest first (one query; the users who made them joined in)."""
    return list(FaqRevision.objects.filter(entry=entry).select_related("user").order_by("-created_at", "-id"))


def faq_revision_get(*, entry: FaqEntry, revision_id: int) -> FaqRevision:
    revision = FaqRevision.objects.filter(entry=entry, pk=revision_id).first()
    if revision is None:
        raise NotFound("revision_not_found", f"No revision {revision_id} of {entry.key!r}.")
    return revision


def document_list(*, language: str | None = None, query: str | None = None) -> QuerySet[Document]:
    """Uploaded documents for the console, newest first, each with ``chunk_count`` and
    ``embedded_count`` (chunks whose vectors are stored); filtered by main language and a
    substring of the title or file name."""
    documents = Document.objects.annotate(
        chunk_count=Count("chunks"), embedded_count=Count("chunks", filter=Q(chunks__embeddings__isnull=False)))
    if language:
        documents = documents.filter(language=language)
    if query:
        documents = documents.filter(Q(title__icontains=query) | Q(filename__icontains=query))
    return documents.order_by("-created_at", "-id")


def document_get(*, document_id: int) -> Document:
    """One document with its chunks (``document.chunks.all()``, in order) and ``chunk_count``."""
    try:
        if not 0 < document_id <= MAX_ID:
            raise Document.DoesNotExist
        return document_list().prefetch_related("chunks").get(pk=document_id)
    except Document.DoesNotExist as exc:
        raise NotFound("document_not_found", f"No document with id {document_id}.") from exc


def faq_published_answers(language: str) -> list[str]:
    """The answers of the published entries as the avatar speaks them in ``language`` (stripped): an
    entry with no answer in ``language`` is answered in the closest language it has, as the
    extractive answer does (``avatar_runtime.llm.passages.language_preference``; a Cantonese kiosk
    speaks the Mandarin text of an entry nobody translated to Cantonese). Empty for a language the
    knowledge base does not speak at all (yet)."""
    if not FaqTranslation.objects.filter(language=language, entry__status=FaqEntry.Status.PUBLISHED).exists():
        return []
    answers = []
    entries = FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).prefetch_related("translations")
    for entry in entries.order_by("key"):
        texts = {t.language: t.answer.strip() for t in entry.translations.all() if t.answer.strip()}
        spoken = next((lang for lang in [*language_preference(language), *sorted(texts)] if lang in texts), None)
        if spoken is not None:
            answers.append(texts[spoken])
    return answers
