"""Background jobs of the knowledge base (``celery -A config worker``; inline when eager)."""
from celery import shared_task

from knowledgebase import indexing


@shared_task(name="knowledgebase.tasks.kb_index_refresh")
def kb_index_refresh_task() -> int:
    """Embed the translations and chunks that changed, then make every process rebuild."""
    return indexing.kb_index_refresh()


@shared_task(name="knowledgebase.tasks.kb_index_rebuild")
def kb_index_rebuild() -> int:
    """Recompute every embedding (after a model change, say), then make every process rebuild."""
    return indexing.kb_index_rebuild()
