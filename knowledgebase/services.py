"""Writes to the knowledge base. Every change leaves a revision and refreshes the index."""
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction

from common.errors import ApplicationError
from knowledgebase.importing import FaqRow, RowError, parse_faq_file
from knowledgebase.models import FaqEntry, FaqRevision, FaqTranslation, Tag


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


def _revision_add(*, entry: FaqEntry, action: str, user: User | None) -> None:
    FaqRevision.objects.create(entry=entry, action=action, snapshot=faq_snapshot(entry), user=user)


def _apply_rows(entry: FaqEntry, rows: list[FaqRow]) -> bool:
    """Upsert the translations and tags of one entry; True when anything changed."""
    changed = False
    for row in rows:
        translation, created = FaqTranslation.objects.get_or_create(
            entry=entry, language=row.language,
            defaults={"question": row.question, "answer": row.answer, "alternates": list(row.alternates)},
        )
        if created:
            changed = True
            continue
        new = (row.question, row.answer, list(row.alternates))
        if (translation.question, translation.answer, list(translation.alternates)) != new:
            translation.question, translation.answer, translation.alternates = new
            translation.embeddings = None  # stale: re-embedded by the index refresh
            translation.save()
            changed = True
    tag_names = sorted({tag for row in rows for tag in row.tags})
    if tag_names and sorted(entry.tags.values_list("name", flat=True)) != tag_names:
        entry.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tag_names])
        changed = True
    return changed


@transaction.atomic
def faq_import_rows(*, rows: list[FaqRow], user: User | None = None) -> ImportReport:
    """Create or update entries from parsed rows; idempotent (re-importing changes nothing)."""
    report = ImportReport(translations=len(rows))
    by_key: dict[str, list[FaqRow]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    for key, key_rows in by_key.items():
        entry, created = FaqEntry.objects.get_or_create(key=key, defaults={"created_by": user, "updated_by": user})
        changed = _apply_rows(entry, key_rows)
        if created:
            report.created += 1
        elif changed:
            report.updated += 1
            entry.updated_by = user
            entry.save(update_fields=["updated_by", "updated_at"])
        else:
            report.unchanged += 1
        if created or changed:
            _revision_add(entry=entry, action="import", user=user)
    return report


def faq_import_file(
    *, content: bytes, filename: str, user: User | None = None, skip_bad: bool = False
) -> ImportReport:
    """Import a JSONL/CSV file: all or nothing, unless ``skip_bad`` imports the good rows and
    reports the bad ones."""
    parsed = parse_faq_file(content, filename)
    if parsed.errors and not skip_bad:
        raise ApplicationError(
            "import_invalid",
            f"{len(parsed.errors)} bad row(s); nothing was imported.",
            extra={"errors": [e.as_dict() for e in parsed.errors]},
        )
    if not parsed.rows:
        raise ApplicationError(
            "import_empty", "The file has no importable rows.", extra={"errors": [e.as_dict() for e in parsed.errors]}
        )
    report = faq_import_rows(rows=parsed.rows, user=user)
    report.skipped = parsed.errors
    return report
