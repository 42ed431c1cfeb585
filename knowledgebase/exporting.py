"""Write FAQ translations as JSON Lines or CSV, in the columns ``importing`` reads back.

One row per translation: ``key, language, question, answer, tags, alternates``. In CSV,
tags are ``;``-separated and alternates ``|``-separated, and every cell that a spreadsheet
would run as a formula gets an apostrophe in front (the importer removes it).
"""
import csv
import io
import json
from collections.abc import Iterator
from typing import NamedTuple

from common.errors import ApplicationError
from knowledgebase.importing import escape_formula
from knowledgebase.models import FaqEntry, FaqTranslation

FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


def export_format(filename: str) -> str:
    """``jsonl`` or ``csv`` from a file name's extension."""
    lowered = filename.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    raise ApplicationError("export_format", "Export to a .jsonl or .csv file.")


class ExportRow(NamedTuple):
    key: str
    language: str
    question: str
    answer: str
    tags: list[str]
    alternates: list[str]


def _rows(status: str | None) -> Iterator[ExportRow]:
    entries = FaqEntry.objects.prefetch_related("tags")
    if status:
        entries = entries.filter(status=status)
    tags = {entry.pk: sorted(tag.name for tag in entry.tags.all()) for entry in entries}
    translations = (FaqTranslation.objects.filter(entry_id__in=list(tags)).select_related("entry")
                    .order_by("entry__key", "language"))
    for t in translations:
        yield ExportRow(t.entry.key, t.language, t.question, t.answer, tags[t.entry_id], [str(a) for a in t.alternates])


def faq_export(*, fmt: str, status: str | None = None) -> bytes:
    """Every FAQ translation (only those of entries in ``status`` when given), UTF-8 encoded."""
    if fmt == "jsonl":
        return "".join(json.dumps(row._asdict(), ensure_ascii=False) + "\n" for row in _rows(status)).encode()
    if fmt != "csv":
        raise ApplicationError("export_format", f"Unknown export format {fmt!r}; use jsonl or csv.")
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(ExportRow._fields)
    for row in _rows(status):
        cells = [row.key, row.language, row.question, row.answer, ";".join(row.tags), "|".join(row.alternates)]
        writer.writerow([escape_formula(cell) for cell in cells])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheet apps read UTF-8
