"""``manage.py kb_search "QUERY" [--lang xx] [--k 5] [--json]``: search the knowledge base."""
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES
from knowledgebase.selectors import faq_search


class Command(BaseCommand):
    help = "Search the published FAQs (and documents) the way the avatar does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query")
        parser.add_argument("--lang", choices=KIOSK_LANGUAGES, help="The customer's language (guessed when absent).")
        parser.add_argument("--k", type=int, default=5, help="How many results (default 5).")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = faq_search(options["query"], options["lang"], options["k"])
        except ApplicationError as exc:
            raise CommandError(f"[{exc.code}] {exc.message}") from exc
        if result.mode == "lexical":
            self.stderr.write("the sentence encoders (e5, USE) are not in MODELS_DIR: lexical search only (see manage.py doctor)")
        if options["json"]:
            payload = {"answerable": result.answerable, "results": [hit.as_dict() for hit in result.results]}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        verdict = "answerable" if result.answerable else "no good match: the avatar offers staff help"
        self.stdout.write(f"{verdict} (confidence {result.confidence:.2f}, {result.mode}, {result.elapsed_ms:.0f} ms)")
        for rank, hit in enumerate(result.results, start=1):
            self.stdout.write(f"{rank:>2}. {hit.score:6.3f}  {hit.key:<32} [{hit.language}] {_clip(hit.question, 60)}")
            self.stdout.write(f"{'':>12}{_clip(hit.answer, 90)}")


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
