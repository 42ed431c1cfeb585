"""``manage.py import_faqs FILE``: import FAQ translations from JSON Lines or CSV."""
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import ApplicationError
from knowledgebase.services import faq_import_file


class Command(BaseCommand):
    help = ("Import FAQs (JSONL or CSV). All or nothing unless --skip-bad. New entries are drafts and existing ones "
            "keep their status, unless --publish.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--skip-bad", action="store_true", help="Import the good rows, report the bad ones.")
        parser.add_argument("--publish", action="store_true",
                            help="Publish every entry in the file at once (the avatar starts using them).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            report = faq_import_file(content=path.read_bytes(), filename=path.name, skip_bad=options["skip_bad"],
                                     publish=options["publish"])
        except ApplicationError as exc:
            lines = [f"[{exc.code}] {exc.message}"]
            errors = exc.extra.get("errors", [])
            assert isinstance(errors, list)
            lines += [f"  line {e['line']}: {e['message']}" for e in errors]
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
