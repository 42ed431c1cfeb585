"""Background jobs of the knowledge base (``celery -A config worker``; inline when eager)."""
from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from avatar_runtime.errors import ProviderError
from knowledgebase import indexing
from knowledgebase.generated_phrasings import faq_phrasings_generate, phrasings_progress_key


@shared_task(name="knowledgebase.tasks.kb_index_refresh")
def kb_index_refresh_task() -> int:
    """Embed the translations and chunks that changed, then make every process rebuild."""
    return indexing.kb_index_refresh()


@shared_task(name="knowledgebase.tasks.kb_index_rebuild")
def kb_index_rebuild() -> int:
    """Recompute every embedding (after a model change, say), then make every process rebuild."""
    return indexing.kb_index_rebuild()


@shared_task(bind=True, name="knowledgebase.tasks.faq_phrasings_generate", acks_late=True, max_retries=None)
def faq_phrasings_generate_task(self: Task, entry_id: int) -> str | Retry:
    """Generated phrasings for one entry's published translations (idempotent; progress in the cache).

    Retried with backoff when the model server or the database fail for a while; a permanent
    model error (a bad request, an unknown model) ends the job: the next publish tries again."""
    progress = phrasings_progress_key(entry_id)

    def report(fraction: float, stage: str) -> None:
        cache.set(progress, {"fraction": round(fraction, 3), "stage": stage}, timeout=3600)

    retries = self.request.retries
    try:
        return f"entry {entry_id}: {faq_phrasings_generate(entry_id=entry_id, report=report)} generated phrasings"
    except (ProviderError, OperationalError, InterfaceError) as exc:
        transient = not isinstance(exc, ProviderError) or exc.retryable
        if not transient or retries >= settings.KB_PHRASINGS_JOB_MAX_RETRIES:
            report(1.0, "done")
            return f"entry {entry_id}: failed ({type(exc).__name__}: {exc})"
        retry = self.retry(exc=exc, countdown=min(2 ** retries * 30, 1800), throw=False)
        if self.request.is_eager:  # inline (no broker): Celery re-runs a returned Retry at once
            return retry
        raise retry from exc
