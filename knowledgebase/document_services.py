"""Writes to the document library: upload, re-index and delete. Search finds a document's
chunks once the index refresh after commit has run, and stops finding them at once after a
deletion (``knowledgebase.services.index_refresh_after_commit``)."""
import logging
from collections import Counter
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from audit.log import audit_record
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES, normalize_language
from common.text import text_problem
from knowledgebase.chunking import Chunk, document_chunks
from knowledgebase.document_text import DocumentKind, document_kind, document_sections
from knowledgebase.models import Document, DocumentChunk, FaqEntry
from knowledgebase.services import Actor, index_refresh_after_commit, user_or_none

logger = logging.getLogger(__name__)
MAX_DOCUMENT_CHUNKS = 5000  # about 2.5 million characters: embedding more would take the refresh task hours


def _chunks(kind: DocumentKind, content: bytes, declared: str | None) -> list[Chunk]:
    chunks = document_chunks(document_sections(kind, content), declared_language=declared)
    if len(chunks) > MAX_DOCUMENT_CHUNKS:
        raise ApplicationError("document_too_large",
                               _("The document has more than %(count)d passages; split it.") % {"count": MAX_DOCUMENT_CHUNKS},
                               status=413)
    return chunks


def _chunks_store(document: Document, chunks: list[Chunk]) -> None:
    DocumentChunk.objects.bulk_create(
        DocumentChunk(document=document, position=position, heading=chunk.heading[:300], language=chunk.language,
                      text=chunk.text)
        for position, chunk in enumerate(chunks)
    )


@transaction.atomic
def document_create(
    *, content: bytes, filename: str, title: str = "", language: str | None = None,
    status: str = FaqEntry.Status.PUBLISHED, user: Actor = None,
) -> Document:
    """Store an uploaded PDF (.pdf), Markdown (.md) or plain-text (.txt, UTF-8) file and its
    chunks; search finds them once the index refresh after commit has run.

    ``title`` defaults to the file name without its extension. ``language`` (optional) is the
    document's main language; each chunk's language is detected from its text (a Chinese chunk
    takes ``language`` when that is zh or yue, which the script alone cannot tell apart).
    Raises ``ApplicationError`` with code ``document_too_large`` (over
    ``settings.KB_DOCUMENT_MAX_BYTES``), ``document_unsupported_type``, ``document_unreadable``
    (damaged or protected PDF, text not UTF-8), ``document_empty`` (no text, e.g. a scanned
    PDF), ``document_invalid_text`` (a NUL, lone surrogate or control character, by line),
    ``invalid_language`` or ``document_invalid``; nothing is stored then.
    """
    limit = int(settings.KB_DOCUMENT_MAX_BYTES)
    if len(content) > limit:
        raise ApplicationError("document_too_large", _("Documents are limited to %(limit)s; this one is %(size)s.") % {
            "limit": _megabytes(limit), "size": _megabytes(len(content))}, status=413)
    declared = normalize_language(language) if language else None
    if language and declared is None:
        raise ApplicationError("invalid_language", f"Unknown language {language!r}; use one of {', '.join(KIOSK_LANGUAGES)}.")
    if status not in (FaqEntry.Status.DRAFT, FaqEntry.Status.PUBLISHED):
        raise ApplicationError("document_invalid", f"Unknown status {status!r}.")
    name = PurePath(filename.replace("\\", "/")).name.strip()
    for field_name, text in (("title", title), ("file name", name)):
        if problem := text_problem(text):
            raise ApplicationError("document_invalid", f"The {field_name} has {problem}.")
    if not content.strip():
        raise ApplicationError("document_empty", _("The file is empty."))
    kind = document_kind(name, content)
    chunks = _chunks(kind, content, declared)
    main_language = declared or Counter(chunk.language for chunk in chunks).most_common(1)[0][0]
    document = Document.objects.create(
        title=(title.strip() or PurePath(name).stem or name)[:200], language=main_language, kind=kind,
        filename=name[:255], size=len(content), status=status, created_by=user_or_none(user),
    )
    _chunks_store(document, chunks)
    document.file.save(name, ContentFile(content), save=True)
    audit_record(actor=user, action="document.create", target=document,
                 after={"title": document.title, "filename": document.filename, "language": document.language,
                        "chunks": len(chunks), "status": document.status})
    logger.info("knowledge base: document %d stored (%s, %d bytes, %d chunks)", document.pk, kind, len(content), len(chunks))
    index_refresh_after_commit()
    return document


@transaction.atomic
def document_delete(*, document: Document, user: Actor = None) -> None:
    """Delete the document and its chunks; its file is removed once the deletion is committed."""
    file_name, storage = document.file.name, document.file.storage
    logger.info("knowledge base: document %d deleted by user %s", document.pk, getattr(user_or_none(user), "pk", None))
    audit_record(actor=user, action="document.delete", target=document,
                 before={"title": document.title, "filename": document.filename, "language": document.language})
    document.delete()
    if file_name:
        transaction.on_commit(lambda: storage.delete(file_name))
    index_refresh_after_commit()


@transaction.atomic
def document_reindex(*, document: Document, user: Actor = None) -> int:
    """Cut the stored file into chunks again (after a change to the text extraction or chunking)
    and have them embedded afresh; returns the number of chunks. Raises ``ApplicationError``
    ``document_file_missing`` when the uploaded file is gone, or as ``document_create`` for the text."""
    if not document.file or not document.file.storage.exists(document.file.name):
        raise ApplicationError("document_file_missing", _("The uploaded file is no longer stored; upload it again."))
    with document.file.open("rb") as handle:
        content = handle.read()
    chunks = _chunks(document_kind(document.filename or document.file.name, content), content, document.language)
    before = document.chunks.count()
    document.chunks.all().delete()
    _chunks_store(document, chunks)
    audit_record(actor=user, action="document.reindex", target=document, before={"chunks": before},
                 after={"chunks": len(chunks)})
    logger.info("knowledge base: document %d re-indexed (%d chunks)", document.pk, len(chunks))
    index_refresh_after_commit()
    return len(chunks)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
