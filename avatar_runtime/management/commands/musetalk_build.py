"""``manage.py musetalk_build``: compile the MuseTalk engine once and store it beside the weights."""
from typing import Any

import torch
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from avatar_runtime.errors import ModelMissingError

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


class Command(BaseCommand):
    help = ("Build the MuseTalk frame engine's compiled artefacts for this GPU and torch under "
            "MODELS_DIR/musetalk-compiled, so avatar workers start in seconds (run at deploy time).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dtype", choices=sorted(DTYPES), default="float16", help="The workers' dtype.")
        parser.add_argument("--random-weights", action="store_true",
                            help="Build from the release architecture at random weights (weights not yet installed).")
        parser.add_argument("--force", action="store_true", help="Rebuild even when a matching entry is ready.")

    def handle(self, *args: Any, **options: Any) -> None:
        from avatar_runtime.render.musetalk.build import musetalk_build

        try:
            result = musetalk_build(settings.MODELS_DIR, dtype=DTYPES[options["dtype"]],
                                    random_weights=options["random_weights"], force=options["force"])
        except (RuntimeError, ValueError, ModelMissingError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"compile cache {result['state']} at {result['path']}: {result['detail']} "
                          f"(this start took {result['seconds']:.0f} s, cache {result['compile_cache']})")
