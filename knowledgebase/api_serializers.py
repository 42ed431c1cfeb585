"""Shapes of the knowledge-base API (request validation and responses, also the OpenAPI schema)."""
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.languages import KIOSK_LANGUAGES, LANGUAGE_CHOICES
from knowledgebase.importing import MAX_FIELD
from knowledgebase.models import PUBLISH_CHOICES, Document, FaqEntry
from knowledgebase.selectors import MAX_K, MAX_QUERY_CHARS
from knowledgebase.services import MAX_ALTERNATES, TranslationData


@extend_schema_field({"type": "string", "enum": list(KIOSK_LANGUAGES),
                      "description": "zh Mandarin, yue Cantonese, en English, ja Japanese, ko Korean"})
class LanguageField(serializers.ChoiceField):
    """A kiosk language; one inline enum in the schema wherever it appears."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=LANGUAGE_CHOICES, **kwargs)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code, e.g. import_invalid.")
    message = serializers.CharField()
    # named like the response key; the field shadows Serializer.errors only at class level
    errors = serializers.JSONField(required=False, help_text="Details, e.g. line-numbered import errors.")  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class TranslationSerializer(serializers.Serializer):
    language = LanguageField()
    question = serializers.CharField(max_length=MAX_FIELD)
    answer = serializers.CharField(max_length=MAX_FIELD)
    alternates = serializers.ListField(child=serializers.CharField(max_length=MAX_FIELD), max_length=MAX_ALTERNATES,
                                       required=False, default=list, help_text="Other phrasings of the question.")


def translations_data(items: list[dict[str, object]]) -> dict[str, TranslationData]:
    """Validated translation dicts as the services take them, one per language."""
    languages = [str(item["language"]) for item in items]
    if len(set(languages)) != len(languages):
        raise serializers.ValidationError({"translations": "One translation per language."})
    return {
        str(item["language"]): TranslationData(str(item["question"]), str(item["answer"]),
                                               tuple(str(a) for a in item.get("alternates") or ()))  # type: ignore[attr-defined]
        for item in items
    }


class FaqSerializer(serializers.Serializer):
    """An FAQ entry with all its translations side by side."""

    key = serializers.SlugField()
    status = serializers.ChoiceField(choices=FaqEntry.Status.choices)
    tags = serializers.ListField(child=serializers.SlugField())
    translations = TranslationSerializer(many=True)
    missing_languages = serializers.ListField(child=serializers.CharField(),
                                              help_text="Kiosk language codes this entry has no translation for.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: FaqEntry) -> dict[str, object]:
        translations = sorted(instance.translations.all(), key=lambda t: KIOSK_LANGUAGES.index(t.language))
        present = {t.language for t in translations}
        return {
            "key": instance.key,
            "status": instance.status,
            "tags": sorted(tag.name for tag in instance.tags.all()),
            "translations": [{"language": t.language, "question": t.question, "answer": t.answer,
                              "alternates": list(t.alternates)} for t in translations],
            "missing_languages": [language for language in KIOSK_LANGUAGES if language not in present],
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
            "updated_at": serializers.DateTimeField().to_representation(instance.updated_at),
        }


class FaqCreateSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=100)
    status = serializers.ChoiceField(choices=PUBLISH_CHOICES, default=FaqEntry.Status.DRAFT)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    translations = TranslationSerializer(many=True, allow_empty=False)


class FaqUpdateSerializer(serializers.Serializer):
    """Fields left out stay as they are; ``translations``, when given, replaces them all."""

    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    translations = TranslationSerializer(many=True, allow_empty=False, required=False)


class FaqListQuerySerializer(serializers.Serializer):
    tag = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=FaqEntry.Status.choices, required=False)
    has_language = LanguageField(required=False,
                                           help_text="Only entries translated into this language.")
    missing_language = LanguageField(required=False,
                                               help_text="Only entries not yet translated into this language.")
    q = serializers.CharField(required=False, help_text="Substring of the key or of a question.")
    page = serializers.IntegerField(required=False, min_value=1)


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_CHARS, help_text="The customer's question.")
    lang = LanguageField(required=False,
                                   help_text="The customer's language; guessed from the script when absent.")
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=5)


class SearchTranslationSerializer(serializers.Serializer):
    question = serializers.CharField()
    answer = serializers.CharField()


class SearchHitSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="FAQ key, or doc:<document id>#<chunk position> for a document.")
    language = LanguageField(help_text="Language of question/answer below.")
    question = serializers.CharField()
    answer = serializers.CharField()
    score = serializers.FloatField(help_text="Fused relevance (higher is better; comparable within one search).")
    translations = serializers.DictField(child=SearchTranslationSerializer(), help_text="Every language the entry has.")


class SearchResultSerializer(serializers.Serializer):
    answerable = serializers.BooleanField(help_text="False: nothing fits; the avatar offers staff help.")
    confidence = serializers.FloatField(help_text="Probability that the first result answers the question.")
    mode = serializers.ChoiceField(choices=["hybrid", "lexical"], help_text="lexical: an encoder (e5, USE) is missing.")
    results = SearchHitSerializer(many=True)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="UTF-8 .jsonl or .csv: key, language, question, answer, tags, alternates.")
    skip_bad = serializers.BooleanField(default=False, help_text="Import the good rows and report the bad ones.")
    publish = serializers.BooleanField(default=False, help_text=(
        "Publish every entry in the file at once (the avatar starts using them). Without it, new entries are "
        "drafts, as when created one by one, and existing entries keep their status."))


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    translations = serializers.IntegerField()
    skipped = RowErrorSerializer(many=True)


class ExportQuerySerializer(serializers.Serializer):
    # not "format": DRF reserves that query parameter for choosing a renderer
    file_format = serializers.ChoiceField(choices=["jsonl", "csv"], default="jsonl")
    status = serializers.ChoiceField(choices=FaqEntry.Status.choices, required=False)


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A PDF (.pdf), Markdown (.md) or UTF-8 plain-text (.txt) file.")
    title = serializers.CharField(max_length=200, required=False, default="",
                                  help_text="Defaults to the file name without its extension.")
    language = LanguageField(required=False, help_text="Main language; each chunk's own is detected from its text.")
    status = serializers.ChoiceField(choices=PUBLISH_CHOICES, default=FaqEntry.Status.PUBLISHED)


class DocumentListQuerySerializer(serializers.Serializer):
    language = LanguageField(required=False, help_text="Only documents whose main language is this one.")
    q = serializers.CharField(required=False, help_text="Substring of the title or file name.")
    page = serializers.IntegerField(required=False, min_value=1)


class DocumentChunkSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The key search returns for this chunk: doc:<document id>#<position>.")
    position = serializers.IntegerField()
    heading = serializers.CharField(help_text="The section the chunk comes from (may be empty).")
    language = LanguageField(help_text="Detected from the chunk's text.")
    text = serializers.CharField()


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    language = LanguageField(help_text="Main language (declared, or that of most chunks).")
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    filename = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    status = serializers.ChoiceField(choices=FaqEntry.Status.choices)
    chunk_count = serializers.IntegerField()
    languages = serializers.ListField(child=LanguageField(), help_text="Languages of its chunks.", required=False)
    created_at = serializers.DateTimeField()


class DocumentDetailSerializer(DocumentSerializer):
    chunks = DocumentChunkSerializer(many=True)

    def to_representation(self, instance: Document) -> dict[str, Any]:
        chunks = list(instance.chunks.all())
        data = dict(DocumentSerializer(instance).data)
        data["languages"] = sorted({chunk.language for chunk in chunks})
        data["chunks"] = [{"key": f"doc:{instance.pk}#{chunk.position}", "position": chunk.position,
                           "heading": chunk.heading, "language": chunk.language, "text": chunk.text} for chunk in chunks]
        return data
