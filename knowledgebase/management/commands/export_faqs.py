"""``manage.py export_faqs FILE``: write every FAQ translation to JSON Lines or CSV."""
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import ApplicationError
from knowledgebase.exporting import export_format, faq_export
from knowledgebase.models import FaqEntry


class Command(BaseCommand):
    help = "Export FAQs to FILE (.jsonl or .csv, the columns import_faqs reads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--status", choices=FaqEntry.Status.values, help="Only entries in this status.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            content = faq_export(fmt=export_format(path.name), status=options["status"])
        except ApplicationError as exc:
            raise CommandError(f"[{exc.code}] {exc.message}") from exc
        path.write_bytes(content)
        self.stdout.write(f"wrote {path}")
