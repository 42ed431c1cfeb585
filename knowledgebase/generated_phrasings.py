"""Generated phrasings of published FAQ translations: the background job's work, and staff's
edits to what it wrote.

Publishing (or editing a published entry) queues ``knowledgebase.tasks.faq_phrasings_generate``
for the entry after commit. The job asks the model (``knowledgebase.llm.job_model``) for each
published translation whose text or generator changed since its last generation
(``FaqTranslation.generated_from``), and stores what passes ``phrasing.phrasing_problem`` and,
asked as a question, finds its own entry among the first three (``phrasings_round_trip``, against
a small model's off-topic lines; on the rail domain it dropped 49 of 274 without changing accuracy,
bench/results/kb_search_lodo_generated.md) as the translation's
``generated_alternates``, unless staff changed the translation meanwhile (then the
next job does it). Running it twice changes nothing; a phrasing staff removed is not
generated again until the translation's text changes.
"""
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from audit.log import audit_record
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES
from knowledgebase import phrasing
from knowledgebase.indexing import index_version_bump, kb_index, kb_index_refresh
from knowledgebase.llm import ChatModel, job_model, job_model_name, llm_available
from knowledgebase.models import FaqEntry, FaqTranslation
from knowledgebase.retrieval.decision import Calibration, calibration_load
from knowledgebase.retrieval.encoder import Encoder
from knowledgebase.retrieval.index import SearchIndex
from knowledgebase.retrieval.text import lexical_terms

logger = logging.getLogger(__name__)
Report = Callable[[float, str], None]
# A generated phrasing must find its own entry among this many when asked (``phrasings_round_trip``).
ROUND_TRIP_DEPTH = 3


def phrasings_progress_key(entry_id: int) -> str:
    return f"knowledgebase:phrasings:{entry_id}:progress"


def phrasings_progress(entry_id: int) -> dict[str, object] | None:
    """The entry's generation job while it is queued or running (``fraction``, ``stage``), else None."""
    value = cache.get(phrasings_progress_key(entry_id))
    return value if isinstance(value, dict) and value.get("stage") != "done" else None


def _source(translation: FaqTranslation) -> phrasing.SourceText:
    return phrasing.SourceText(translation.language, translation.question, translation.answer,
                               tuple(translation.alternates))


def _pending(entry_id: int, generator: str) -> list[FaqTranslation]:
    """The entry's published translations not generated from their current text (by ``generator``)."""
    translations = FaqTranslation.objects.filter(entry_id=entry_id, entry__status=FaqEntry.Status.PUBLISHED)
    return [t for t in translations if t.generated_from != phrasing.source_digest(_source(t), generator)]


def _texts(translation: FaqTranslation) -> list[str]:
    return [translation.question, *translation.alternates, *(g["text"] for g in translation.generated_alternates)]


def phrasings_round_trip(index: SearchIndex, encoder: Encoder, calibration: Calibration, key: str,
                         phrasings: list[tuple[str, str]], depth: int = ROUND_TRIP_DEPTH) -> list[tuple[str, str]]:
    """The (language, text) phrasings that, asked as questions, find entry ``key`` among the first
    ``depth`` in ``index``: a phrasing that leads elsewhere would pull that entry's customers here."""
    if not phrasings:
        return []
    vectors = encoder.queries([text for _, text in phrasings])
    kept = []
    for (language, text), vector in zip(phrasings, vectors, strict=True):
        ranking = index.rank(query_vector=vector, terms=lexical_terms(text), language=language,
                             params=calibration.fusion, reranker=calibration.reranker)
        if key in [index.groups[c.group] for c in ranking.candidates[:depth]]:
            kept.append((language, text))
    return kept


def _round_trip(translation: FaqTranslation, generated: list[dict[str, str]]) -> list[dict[str, str]]:
    loaded = kb_index()
    if loaded.encoder is None or not loaded.index.dense or translation.entry.key not in loaded.index.groups:
        return generated  # no encoder, or the entry is not indexed yet: nothing to check against
    pairs = [(g["language"], g["text"]) for g in generated]
    kept = phrasings_round_trip(loaded.index, loaded.encoder, calibration_load(), translation.entry.key, pairs)
    return [{"language": language, "text": text} for language, text in kept]


def faq_phrasings_generate(*, entry_id: int, report: Report | None = None) -> int:
    """Generate the phrasings the entry's published translations lack; how many were stored.
    Blocking (a background job); raises ``ProviderError`` when the model fails (retryable or not)."""
    def progress(fraction: float, stage: str) -> None:
        if report is not None:
            report(fraction, stage)

    if not _pending(entry_id, job_model_name()):
        progress(1.0, "done")
        return 0
    stored = 0
    with job_model() as model:
        if model is None:
            logger.info("knowledge base: no language model for generated phrasings (entry %d)", entry_id)
            progress(1.0, "done")
            return 0
        todo = _pending(entry_id, model.name)
        for number, translation in enumerate(todo):
            def step(done: int, number: int = number, language: str = translation.language) -> None:
                progress((number + done / len(KIOSK_LANGUAGES)) / len(todo),
                         f"{language}: {done}/{len(KIOSK_LANGUAGES)} languages")

            stored += _generate_one(translation, model, step)
    if stored:
        kb_index_refresh()  # embed them and make every process rebuild
    progress(1.0, "done")
    logger.info("knowledge base: %d generated phrasings stored for entry %d", stored, entry_id)
    return stored


def _generate_one(translation: FaqTranslation, model: ChatModel, step: Callable[[int], None]) -> int:
    def chat(messages: list[dict[str, str]]) -> str:
        return model.chat(messages, max_tokens=phrasing.MAX_TOKENS, temperature=phrasing.TEMPERATURE,
                          frequency_penalty=phrasing.FREQUENCY_PENALTY)

    source = _source(translation)
    siblings = FaqTranslation.objects.filter(entry_id=translation.entry_id).exclude(pk=translation.pk)
    others = FaqTranslation.objects.exclude(entry_id=translation.entry_id).filter(entry__status=FaqEntry.Status.PUBLISHED)
    result = phrasing.phrasings_generate(
        source, chat, taken=[text for t in siblings for text in _texts(t)],
        others=[text for t in others for text in _texts(t)], progress=step,
    )
    generated = [{"language": language, "text": text} for language, texts in result.kept.items() for text in texts]
    kept = _round_trip(translation, generated)
    result.rejected["leads to another entry"] += len(generated) - len(kept)
    generated = kept
    # Only onto the text it was generated from: staff's edit meanwhile wins, and queues its own job.
    updated = FaqTranslation.objects.filter(pk=translation.pk, question=translation.question,
                                            answer=translation.answer).update(
        generated_alternates=generated, generated_from=phrasing.source_digest(source, model.name), embeddings=None)
    if result.rejected:
        logger.info("knowledge base: generated phrasings of translation %d: rejected %s", translation.pk,
                    dict(result.rejected))
    return len(generated) if updated else 0


def faq_phrasings_enqueue(*, entry: FaqEntry) -> None:
    """Queue the entry's generation job after commit, when it is published and a model could run it."""
    if not settings.KB_GENERATED_PHRASINGS or entry.status != FaqEntry.Status.PUBLISHED or not llm_available():
        return
    from common.jobs import enqueue
    from knowledgebase.tasks import faq_phrasings_generate_task

    entry_id = entry.pk

    def send() -> None:
        cache.set(phrasings_progress_key(entry_id), {"fraction": 0.0, "stage": gettext_noop("queued")}, timeout=3600)
        try:
            enqueue(faq_phrasings_generate_task, entry_id)
        except Exception as exc:  # noqa: BLE001 - the broker is down: the next publish queues it again
            logger.warning("knowledge base: could not queue generated phrasings for entry %d: %s", entry_id,
                           type(exc).__name__)

    transaction.on_commit(send)


@transaction.atomic
def generated_alternate_update(*, translation: FaqTranslation, position: int, text: str | None,
                               user: AbstractBaseUser | AnonymousUser | None = None) -> FaqTranslation:
    """Staff's change to one generated phrasing: new ``text``, or removed (``text`` None)."""
    translation = FaqTranslation.objects.select_for_update().get(pk=translation.pk)
    current = list(translation.generated_alternates)
    if not 0 <= position < len(current):
        raise ApplicationError("generated_not_found", gettext("That generated phrasing no longer exists."), status=404)
    before = list(current)
    if text is None:
        del current[position]
    else:
        cleaned = text.strip()
        language = str(current[position]["language"])
        others = [t for i, t in enumerate(_texts(translation)) if i != len(translation.alternates) + 1 + position]
        problem = phrasing.phrasing_problem(cleaned, language, taken={phrasing.phrasing_key(t) for t in others},
                                            others=set())
        if problem is not None:
            raise ApplicationError("generated_invalid", f"The phrasing cannot be kept: {problem}.")
        current[position] = {"language": language, "text": cleaned}
    translation.generated_alternates = current
    translation.embeddings = None  # re-embedded by the index refresh
    translation.save(update_fields=["generated_alternates", "embeddings"])
    audit_record(actor=user, action="faq.generated_edit" if text is not None else "faq.generated_remove",
                 target=translation.entry, before={"language": translation.language, "generated": before},
                 after={"language": translation.language, "generated": current})
    transaction.on_commit(_refresh)
    return translation


def _refresh() -> None:
    index_version_bump()
    from common.jobs import enqueue
    from knowledgebase.tasks import kb_index_refresh_task

    try:
        enqueue(kb_index_refresh_task)
    except Exception:  # noqa: BLE001 - the broker is down: the next search embeds what is missing
        logger.warning("knowledge base: broker unreachable; the index refresh is left to the next search")
