"""Writes to the knowledge base. Every change leaves a revision and, once committed,
refreshes the search index in every process."""
import enum
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from kombu.exceptions import OperationalError

from audit.log import audit_record
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES, normalize_language
from common.text import text_problem
from knowledgebase.generated_phrasings import faq_phrasings_enqueue
from knowledgebase.importing import MAX_FIELD, FaqRow, RowError, parse_faq_file
from knowledgebase.indexing import index_version_bump, kb_index_refresh
from knowledgebase.models import FaqEntry, FaqRevision, FaqTranslation, Tag
from knowledgebase.restore_plan import KEEP_THE_REST, RestoreChoice, restore_plan
from knowledgebase.signals import faq_content_changed
from knowledgebase.tasks import kb_index_refresh_task

logger = logging.getLogger(__name__)
Actor = User | AnonymousUser | None  # who makes the change; anonymous and None are recorded as nobody
MAX_ALTERNATES = 20


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    translations: int = 0
    skipped: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "translations": self.translations, "skipped": [e.as_dict() for e in self.skipped],
        }


@dataclass(frozen=True)
class TranslationData:
    question: str
    answer: str
    alternates: tuple[str, ...] = ()


def faq_snapshot(entry: FaqEntry) -> dict[str, object]:
    return {
        "key": entry.key,
        "status": entry.status,
        "tags": sorted(entry.tags.values_list("name", flat=True)),
        "translations": {
            t.language: {"question": t.question, "answer": t.answer, "alternates": list(t.alternates)}
            for t in entry.translations.order_by("language")
        },
    }


def _revision_add(
    *, entry: FaqEntry, action: str, user: User | None, before: dict[str, object] | None = None
) -> FaqRevision:
    """Snapshot the entry as it is now, and record the change (``before`` -> now) in the audit log."""
    snapshot = faq_snapshot(entry)
    audit_record(actor=user, action=f"faq.{action}", target=entry, before=before,
                 after=None if action == "delete" else snapshot)
    return FaqRevision.objects.create(entry=entry, key=entry.key, action=action, snapshot=snapshot, user=user)


def index_refresh_after_commit() -> None:
    """Once the current transaction commits, every process stops serving the old content."""
    transaction.on_commit(_index_refresh)


def _index_refresh() -> None:
    # Bump at once so every process stops serving the old content at its next search, then
    # embed the changed text in the background (inline when Celery is eager).
    index_version_bump()
    try:
        kb_index_refresh_task.delay()
    except OperationalError:
        logger.warning("knowledge base: broker unreachable; refreshing the search index inline")
        kb_index_refresh()
    faq_content_changed.send(sender=FaqEntry)


def user_or_none(user: Actor) -> User | None:
    return user if isinstance(user, User) else None


def _apply_rows(entry: FaqEntry, rows: list[FaqRow]) -> bool:
    """Upsert the translations and tags of one entry; True when anything changed."""
    edits = {row.language: _translation_put(entry, row.language, TranslationData(row.question, row.answer, row.alternates))
             for row in rows}
    _outdated_mark(entry, edits)
    changed = any(edits.values())
    tag_names = sorted({tag for row in rows for tag in row.tags})
    if tag_names and sorted(entry.tags.values_list("name", flat=True)) != tag_names:
        entry.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tag_names])
        changed = True
    return changed


class Edit(enum.Enum):
    """What saving one translation did."""

    NONE = "none"
    CREATED = "created"
    WORDING = "wording"  # question or alternates changed, the answer did not
    ANSWER = "answer"
    CATCH_UP = "catch_up"  # an out-of-date translation edited: it follows the others, they need not follow it

    def __bool__(self) -> bool:
        return self is not Edit.NONE


def _translation_put(entry: FaqEntry, language: str, data: TranslationData) -> Edit:
    translation, created = FaqTranslation.objects.get_or_create(
        entry=entry, language=language,
        defaults={"question": data.question, "answer": data.answer, "alternates": list(data.alternates)},
    )
    if created:
        return Edit.CREATED
    new = (data.question, data.answer, list(data.alternates))
    if (translation.question, translation.answer, list(translation.alternates)) == new:
        return Edit.NONE
    if translation.outdated_since is not None:
        edit = Edit.CATCH_UP
    else:
        edit = Edit.ANSWER if translation.answer != data.answer else Edit.WORDING
    translation.question, translation.answer, translation.alternates = new
    translation.embeddings = None  # stale: re-embedded by the index refresh
    translation.outdated_since, translation.outdated_by = None, ""  # edited: up to date again
    translation.save()
    return edit


def _outdated_mark(entry: FaqEntry, edits: Mapping[str, Edit]) -> None:
    """When the answer of an up-to-date translation changed, the entry's translations not edited in
    the same change are out of date (the first such change is kept until the translation is
    edited); updating an out-of-date translation marks nothing."""
    sources = [language for language in KIOSK_LANGUAGES if edits.get(language) is Edit.ANSWER]
    if not sources:
        return
    entry.translations.exclude(language__in=[language for language, edit in edits.items() if edit]).filter(
        outdated_since__isnull=True).update(outdated_since=timezone.now(), outdated_by=sources[0])


@transaction.atomic
def faq_translation_confirm(*, entry: FaqEntry, language: str, user: Actor = None) -> None:
    """Staff checked an out-of-date translation and it still says the right thing."""
    translation = entry.translations.filter(language=language).exclude(outdated_since=None).first()
    if translation is None:
        return
    audit_record(actor=user, action="faq.translation_confirm", target=entry,
                 before={"language": language, "outdated_by": translation.outdated_by}, after={"language": language})
    FaqTranslation.objects.filter(pk=translation.pk).update(outdated_since=None, outdated_by="")


@transaction.atomic
def faq_import_rows(*, rows: list[FaqRow], user: Actor = None, publish: bool = False) -> ImportReport:
    """Create or update entries from parsed rows; idempotent (re-importing changes nothing).

    The same review policy as every other way in: a new entry is a draft, an existing one keeps
    its status; with ``publish`` (staff's explicit choice) every entry of the file is published.
    """
    user = user_or_none(user)
    report = ImportReport(translations=len(rows))
    by_key: dict[str, list[FaqRow]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    status = FaqEntry.Status.PUBLISHED if publish else FaqEntry.Status.DRAFT
    for key, key_rows in by_key.items():
        entry, created = FaqEntry.objects.get_or_create(
            key=key, defaults={"status": status, "created_by": user, "updated_by": user})
        before = None if created else faq_snapshot(entry)
        changed = _apply_rows(entry, key_rows)
        if publish and entry.status != status:
            entry.status, changed = status, True
        if created:
            report.created += 1
        elif changed:
            report.updated += 1
            entry.updated_by = user
            entry.save(update_fields=["status", "updated_by", "updated_at"])
        else:
            report.unchanged += 1
        if created or changed:
            _revision_add(entry=entry, action="import", user=user, before=before)
            faq_phrasings_enqueue(entry=entry)
    if report.created or report.updated:
        index_refresh_after_commit()
    return report


def faq_import_file(
    *, content: bytes, filename: str, user: Actor = None, skip_bad: bool = False, publish: bool = False
) -> ImportReport:
    """Import a JSONL/CSV file: all or nothing, unless ``skip_bad`` imports the good rows and
    reports the bad ones. New entries are drafts unless ``publish`` (see ``faq_import_rows``)."""
    parsed = parse_faq_file(content, filename)
    if parsed.errors and not skip_bad:
        raise ApplicationError(
            "import_invalid",
            ngettext("%(count)d bad row; nothing was imported.", "%(count)d bad rows; nothing was imported.",
                     len(parsed.errors)) % {"count": len(parsed.errors)},
            extra={"errors": [e.as_dict() for e in parsed.errors]},
        )
    if not parsed.rows:
        raise ApplicationError(
            "import_empty", _("The file has no importable rows."), extra={"errors": [e.as_dict() for e in parsed.errors]}
        )
    report = faq_import_rows(rows=parsed.rows, user=user, publish=publish)
    report.skipped = parsed.errors
    return report


def _clean_translations(translations: Mapping[str, TranslationData]) -> dict[str, TranslationData]:
    cleaned: dict[str, TranslationData] = {}
    errors: dict[str, str] = {}
    for raw_language, data in translations.items():
        language = normalize_language(raw_language)
        question, answer = data.question.strip(), data.answer.strip()
        alternates = tuple(dict.fromkeys(a.strip() for a in data.alternates if a.strip()))
        if language is None:
            errors[raw_language] = _("not one of %(languages)s") % {"languages": ", ".join(KIOSK_LANGUAGES)}
        elif not question or not answer:
            errors[language] = _("question and answer are required")
        elif max(len(t) for t in (question, answer, *alternates)) > MAX_FIELD:
            errors[language] = _("texts are limited to %(count)d characters") % {"count": MAX_FIELD}
        elif problem := next(filter(None, map(text_problem, (question, answer, *alternates))), None):
            errors[language] = f"the text has {problem}"
        elif len(alternates) > MAX_ALTERNATES:
            errors[language] = _("at most %(count)d alternate phrasings") % {"count": MAX_ALTERNATES}
        else:
            cleaned[language] = TranslationData(question, answer, alternates)
    if errors or not cleaned:
        raise ApplicationError("faq_invalid", _("Every FAQ needs at least one valid translation."),
                               extra={"errors": errors or {"translations": _("at least one is required")}})
    return cleaned


def _tags_set(entry: FaqEntry, tags: Sequence[str]) -> None:
    names = sorted({slugify(t)[:64] for t in tags if slugify(t)})
    entry.tags.set([Tag.objects.get_or_create(name=name)[0] for name in names])


@transaction.atomic
def faq_create(
    *, key: str, translations: Mapping[str, TranslationData], tags: Sequence[str] = (),
    status: str = FaqEntry.Status.DRAFT, user: Actor = None,
) -> FaqEntry:
    """A new entry with its translations (a draft unless ``status`` says otherwise)."""
    user = user_or_none(user)
    if slugify(key) != key.lower() or not key or len(key) > 100:
        raise ApplicationError("faq_invalid", _("Key “%(key)s” must be a slug (letters, digits, '-' or '_').") % {"key": key})
    if status not in (FaqEntry.Status.DRAFT, FaqEntry.Status.PUBLISHED):
        raise ApplicationError("faq_invalid", f"Unknown status {status!r}.")
    if FaqEntry.objects.filter(key=key.lower()).exists():
        raise ApplicationError("faq_exists", _("An FAQ entry with key “%(key)s” already exists.") % {"key": key.lower()},
                               status=409)
    cleaned = _clean_translations(translations)
    entry = FaqEntry.objects.create(key=key.lower(), status=status, created_by=user, updated_by=user)
    for language, data in cleaned.items():
        _translation_put(entry, language, data)
    _tags_set(entry, tags)
    _revision_add(entry=entry, action="create", user=user)
    index_refresh_after_commit()
    faq_phrasings_enqueue(entry=entry)
    return entry


@transaction.atomic
def faq_update(
    *, entry: FaqEntry, translations: Mapping[str, TranslationData] | None = None, tags: Sequence[str] | None = None,
    user: Actor = None, action: str = "update",
) -> FaqEntry:
    """Replace the entry's translations (all languages side by side: a language left out is
    removed) and/or its tags. Unchanged translations keep their embeddings."""
    return _faq_apply(entry=entry, translations=translations, tags=tags, user=user_or_none(user), action=action)


def _faq_apply(
    *, entry: FaqEntry, translations: Mapping[str, TranslationData] | None, tags: Sequence[str] | None,
    user: User | None, action: str, status: str | None = None,
) -> FaqEntry:
    before = faq_snapshot(entry)
    if translations is not None:
        cleaned = _clean_translations(translations)
        entry.translations.exclude(language__in=list(cleaned)).delete()
        _outdated_mark(entry, {language: _translation_put(entry, language, data) for language, data in cleaned.items()})
    if tags is not None:
        _tags_set(entry, tags)
    if status is not None:
        entry.status = status
    entry.updated_by = user
    entry.save(update_fields=["status", "updated_by", "updated_at"])
    _revision_add(entry=entry, action=action, user=user, before=before)
    index_refresh_after_commit()
    faq_phrasings_enqueue(entry=entry)
    return entry


def _status_set(entry: FaqEntry, status: str, action: str, user: Actor) -> FaqEntry:
    before = faq_snapshot(entry)
    entry.status = status
    entry.updated_by = user_or_none(user)
    entry.save(update_fields=["status", "updated_by", "updated_at"])
    _revision_add(entry=entry, action=action, user=entry.updated_by, before=before)
    index_refresh_after_commit()
    faq_phrasings_enqueue(entry=entry)  # on publishing
    return entry


@transaction.atomic
def faq_publish(*, entry: FaqEntry, user: Actor = None) -> FaqEntry:
    return _status_set(entry, FaqEntry.Status.PUBLISHED, "publish", user)


@transaction.atomic
def faq_unpublish(*, entry: FaqEntry, user: Actor = None) -> FaqEntry:
    return _status_set(entry, FaqEntry.Status.DRAFT, "unpublish", user)


@transaction.atomic
def faq_archive(*, entry: FaqEntry, user: Actor = None) -> FaqEntry:
    """Take the entry out of the kiosks' answers and the list's default view; ``faq_unarchive`` brings
    it back. The search index is told after commit, so no kiosk answers with it from then on."""
    if entry.status == FaqEntry.Status.ARCHIVED:
        return entry
    return _status_set(entry, FaqEntry.Status.ARCHIVED, "archive", user)


@transaction.atomic
def faq_unarchive(*, entry: FaqEntry, user: Actor = None) -> FaqEntry:
    """Bring an archived entry back as a draft (staff publish it again when it is right)."""
    if entry.status != FaqEntry.Status.ARCHIVED:
        return entry
    return _status_set(entry, FaqEntry.Status.DRAFT, "unarchive", user)


@transaction.atomic
def faq_delete(*, entry: FaqEntry, user: Actor = None) -> None:
    """Delete the entry; its history stays (the last revision records the deletion)."""
    _revision_add(entry=entry, action="delete", user=user_or_none(user), before=faq_snapshot(entry))
    entry.delete()
    index_refresh_after_commit()


@transaction.atomic
def faq_revert(
    *, entry: FaqEntry, revision: FaqRevision, user: Actor = None, choice: RestoreChoice = KEEP_THE_REST,
) -> FaqEntry:
    """Restore one of the entry's revisions as ``choice`` says: by default its wording in every
    language it has, keeping the entry's status, tags and other translations."""
    if revision.entry_id != entry.pk:
        raise ApplicationError("revision_mismatch", _("That revision belongs to another entry."))
    planned = restore_plan(faq_snapshot(entry), revision.snapshot, choice)
    translations = {
        language: TranslationData(t["question"], t["answer"], tuple(t.get("alternates") or ()))
        for language, t in planned["translations"].items()
    }
    return _faq_apply(entry=entry, translations=translations, tags=planned["tags"], user=user_or_none(user),
                      action="revert", status=planned["status"])
