"""``manage.py qa_score CLIP.mp4``: lip-sync offset and confidence of a rendered clip."""
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from avatar_runtime.errors import ProviderError
from avatar_runtime.qa.scorers import SCORERS, make_scorer
from common.errors import ApplicationError


class Command(BaseCommand):
    help = "Score a clip's lip sync: offset in frames (> 0: audio later than video), confidence, distance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("clip", type=Path, help="An mp4 (or any video with audio) to score.")
        parser.add_argument("--scorer", choices=SCORERS, default=None,
                            help="Default: AVATAR_QA_BACKEND (auto: SyncNet when its weights are present).")
        parser.add_argument("--json", action="store_true", help="Print the score as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        clip: Path = options["clip"]
        if not clip.is_file():
            raise CommandError(f"no such file: {clip}")
        try:
            scorer = make_scorer(options["scorer"] or settings.AVATAR_QA_BACKEND, settings.MODELS_DIR)
            result = scorer.score(clip)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        except ProviderError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        verdict = "in sync" if result.confidence >= scorer.confidence_threshold else "not judged in sync"
        self.stdout.write(f"{result.scorer}: offset {result.offset_frames:+d} frames, confidence {result.confidence:.3f} "
                          f"(threshold {scorer.confidence_threshold}), min dist {result.min_dist:.3f}: {verdict}")
