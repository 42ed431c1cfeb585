"""Forms of the FAQ screens: the side-by-side editor, the list's filters, import, "try it" and restore."""
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from common.languages import KIOSK_LANGUAGES, LANGUAGE_CHOICES
from knowledgebase.importing import MAX_FIELD
from knowledgebase.models import FaqEntry, FaqTranslation, Tag
from knowledgebase.restore_plan import RestoreChoice
from knowledgebase.services import TranslationData, faq_snapshot

MAX_IMPORT_BYTES = 5 * 1024 * 1024
_ANY: list[tuple[str, Any]] = [("", _("Any"))]


def _field(language: str, name: str) -> str:
    return f"{language}-{name}"


class FaqEditorForm(forms.Form):
    """The entry's key and tags, and question/answer/alternates for each of the five languages.

    A language left entirely empty has no translation (saving removes it); alternates are one per line.
    """

    key = forms.SlugField(label=_("Key"), max_length=100, help_text=_("Stable identifier: letters, digits, '-' or '_'."))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500, help_text=_("Separated by commas."))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["key"].disabled = True
        for language in KIOSK_LANGUAGES:
            self.fields[_field(language, "question")] = forms.CharField(
                label=_("Question"), required=False, max_length=MAX_FIELD, widget=forms.Textarea(attrs={"rows": 2}))
            self.fields[_field(language, "answer")] = forms.CharField(
                label=_("Answer"), required=False, max_length=MAX_FIELD, widget=forms.Textarea(attrs={"rows": 5}))
            self.fields[_field(language, "alternates")] = forms.CharField(
                label=_("Other phrasings"), required=False, max_length=MAX_FIELD * 4,
                widget=forms.Textarea(attrs={"rows": 3}), help_text=_("One per line."))

    @staticmethod
    def initial_for(entry: FaqEntry) -> dict[str, str]:
        snapshot = faq_snapshot(entry)
        initial: dict[str, str] = {"key": entry.key, "tags": ", ".join(snapshot["tags"])}  # type: ignore[arg-type]
        translations: dict[str, dict[str, Any]] = snapshot["translations"]  # type: ignore[assignment]
        for language, t in translations.items():
            initial[_field(language, "question")] = t["question"]
            initial[_field(language, "answer")] = t["answer"]
            initial[_field(language, "alternates")] = "\n".join(t["alternates"])
        return initial

    def columns(self, outdated: dict[str, FaqTranslation] | None = None) -> list[dict[str, Any]]:
        """The bound fields per language, for the side-by-side template, with the out-of-date
        translation (if any) of each language."""
        return [{"language": code, "name": name, "outdated": (outdated or {}).get(code),
                 "fields": [self[_field(code, part)] for part in ("question", "answer", "alternates")]}
                for code, name in LANGUAGE_CHOICES]

    def translations(self) -> dict[str, TranslationData]:
        data = self.cleaned_data
        result: dict[str, TranslationData] = {}
        for language in KIOSK_LANGUAGES:
            question, answer = data[_field(language, "question")], data[_field(language, "answer")]
            alternates = tuple(line.strip() for line in data[_field(language, "alternates")].splitlines() if line.strip())
            if question.strip() or answer.strip() or alternates:
                result[language] = TranslationData(question, answer, alternates)
        return result

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]

    def add_service_errors(self, errors: dict[str, str]) -> None:
        """Put a service's per-language errors next to that language's answer."""
        for language, message in errors.items():
            name = _field(language, "answer")
            self.add_error(name if name in self.fields else None, message)


class FaqFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[*_ANY, *FaqEntry.Status.choices])
    has_language = forms.ChoiceField(label=_("Has translation in"), required=False, choices=[*_ANY, *LANGUAGE_CHOICES])
    missing_language = forms.ChoiceField(label=_("Missing translation in"), required=False, choices=[*_ANY, *LANGUAGE_CHOICES])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = _ANY + [(t, t) for t in Tag.objects.values_list("name", flat=True)]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, str | None]:
        data = self.cleaned_data if self.is_valid() else {}
        return {name: (data.get(name) or None) for name in ("q", "tag", "status", "has_language", "missing_language")}


class FaqImportForm(forms.Form):
    file = forms.FileField(label=_("File (.csv or .jsonl)"))
    publish = forms.BooleanField(label=_("Publish every entry in the file at once"), required=False,
                                 help_text=_("Otherwise new entries are drafts and existing ones keep their status."))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("Import files are limited to 5 MB."))
        if not upload.name.lower().endswith((".csv", ".jsonl", ".ndjson", ".json")):
            raise forms.ValidationError(_("Upload a .csv or .jsonl file."))
        return upload


class TryItForm(forms.Form):
    q = forms.CharField(label=_("Question"), max_length=1000)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, initial="en")
    include_drafts = forms.BooleanField(label=_("Include drafts"), required=False,
                                        help_text=_("Answer as the kiosks would once the drafts are published."))


class RestoreForm(forms.Form):
    """What to take back from an old version (``knowledgebase.restore_plan.RestoreChoice``); by
    default its wording where it differs, and nothing else."""

    languages = forms.MultipleChoiceField(label=_("Restore the wording in"), required=False,
                                          widget=forms.CheckboxSelectMultiple)
    remove_others = forms.BooleanField(label=_("Delete the translations this version does not have"), required=False)
    status = forms.BooleanField(label=_("Also restore its publish state"), required=False)
    tags = forms.BooleanField(label=_("Also restore its tags"), required=False)

    def __init__(self, *args: Any, options: dict[str, Any], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"languages": options["differing"]})
        super().__init__(*args, **kwargs)
        names = dict(LANGUAGE_CHOICES)
        self.fields["languages"].choices = [(code, names.get(code, code)) for code in options["differing"]]  # type: ignore[attr-defined]
        if not options["others"]:
            del self.fields["remove_others"]
        if not options["status_differs"]:
            del self.fields["status"]
        if not options["tags_differ"]:
            del self.fields["tags"]

    def choice(self) -> RestoreChoice:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {"languages": self.initial["languages"]}
        return RestoreChoice(languages=frozenset(data.get("languages") or ()), remove_others=bool(data.get("remove_others")),
                             status=bool(data.get("status")), tags=bool(data.get("tags")))
