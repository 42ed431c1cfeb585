"""FAQ entries with per-language translations, their history, and uploaded documents."""
from typing import Any

from django.conf import settings
from django.db import models

from common.languages import LANGUAGE_CHOICES
from common.text import search_fold


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FaqEntry(models.Model):
    """One answerable question; its wording per language lives in ``FaqTranslation``."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"  # out of retrieval and the list's default view; can be restored

    key = models.SlugField(max_length=100, unique=True, help_text="Stable identifier used by imports and transcripts.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PUBLISHED, db_index=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="entries")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.key


# What a new entry or a document may be given: archiving is its own action (``faq_archive``).
PUBLISH_CHOICES = [(FaqEntry.Status.DRAFT.value, "Draft"), (FaqEntry.Status.PUBLISHED.value, "Published")]


class FaqTranslation(models.Model):
    """An entry's question, answer and alternate phrasings in one language, with its embedding."""

    entry = models.ForeignKey(FaqEntry, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES)
    question = models.TextField()
    answer = models.TextField()
    alternates = models.JSONField(default=list, blank=True)  # written by staff
    # Written by a language model from this translation (``knowledgebase.phrasing``), in any kiosk
    # language: [{"language": "ko", "text": "..."}]; staff may edit or remove them.
    generated_alternates = models.JSONField(default=list, blank=True)
    # Which text and generator they came from (``phrasing.source_digest``): the job does not run
    # again for the same one, so a phrasing staff removed stays removed.
    generated_from = models.CharField(max_length=64, blank=True)
    # float32 vectors (question first, then each alternate, the answer, then all phrasings as one text,
    # then the generated phrasings), as raw bytes:
    # works on SQLite and PostgreSQL alike; ``embedding_model`` says which encoder produced them.
    embeddings = models.BinaryField(null=True, blank=True)
    embedding_model = models.CharField(max_length=64, blank=True)
    # Question, answer and alternates folded by ``common.text.search_fold``, for the console's list search.
    search_text = models.TextField(blank=True, default="", editable=False)
    # Set when another language's answer changed after this translation was last edited; cleared by editing it.
    outdated_since = models.DateTimeField(null=True, blank=True)
    outdated_by = models.CharField(max_length=8, blank=True, help_text="The language whose answer changed.")

    class Meta:
        ordering = ["entry__key", "language"]
        constraints = [models.UniqueConstraint(fields=["entry", "language"], name="faq_translation_unique_language")]

    def __str__(self) -> str:
        return f"{self.entry.key} [{self.language}]"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = search_fold("\n".join([self.question, self.answer, *self.alternates]))
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)


class FaqRevision(models.Model):
    """A snapshot of an entry after each change: who, when, and the full content.

    Revisions outlive their entry (``entry`` becomes null, ``key`` remains), so a deletion
    stays in the history.
    """

    entry = models.ForeignKey(FaqEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions")
    key = models.SlugField(max_length=100, db_index=True, default="")
    action = models.CharField(max_length=32)
    snapshot = models.JSONField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"


class Document(models.Model):
    """An uploaded PDF/Markdown/text file, chunked for retrieval as a second source
    (``knowledgebase.document_services.document_create``)."""

    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        MARKDOWN = "markdown", "Markdown"
        TEXT = "text", "Plain text"

    title = models.CharField(max_length=200)
    # The language staff declared, or the one most of its chunks are in; each chunk has its own.
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0, help_text="Size of the uploaded file in bytes.")
    file = models.FileField(upload_to="documents/", blank=True)
    status = models.CharField(max_length=16, choices=PUBLISH_CHOICES, default=FaqEntry.Status.PUBLISHED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class DocumentChunk(models.Model):
    """A few hundred characters of one section of a document, with its own language; search
    returns it under the key ``doc:<document id>#<position>``."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True, help_text="The section the chunk comes from.")
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, blank=True)
    text = models.TextField()
    embeddings = models.BinaryField(null=True, blank=True)
    embedding_model = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["document", "position"]
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="document_chunk_unique_position")]

    def __str__(self) -> str:
        return f"{self.document.title} #{self.position}"
