"""``manage.py doctor``: per stage, the backend in use, why, and what production lacks."""
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from avatar_runtime.doctor import BROKEN, DoctorConfig, diagnose
from common.infra import check_broker, check_channel_layer, check_database


class Command(BaseCommand):
    help = "Show which backend each stage uses and why; exit 1 when a required part is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        cfg = DoctorConfig(
            models_dir=settings.MODELS_DIR,
            asr_backend=settings.AVATAR_ASR_BACKEND,
            llm_backend=settings.AVATAR_LLM_BACKEND,
            tts_backend=settings.AVATAR_TTS_BACKEND,
            render_backend=settings.AVATAR_RENDER_BACKEND,
            qa_backend=settings.AVATAR_QA_BACKEND,
            llm_base_url=settings.LLM_BASE_URL,
        )
        reports = [*diagnose(cfg), check_database(), check_channel_layer(), check_broker()]
        if options["json"]:
            self.stdout.write(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
        else:
            style = {"ok": self.style.SUCCESS, "degraded": self.style.WARNING, "broken": self.style.ERROR}
            for r in reports:
                self.stdout.write(f"{r.stage:14} {style[r.status](f'{r.status:9}')} {r.backend:28} {r.reason}")
                if r.missing:
                    self.stdout.write(f"{'':24} for {r.production}: needs {', '.join(r.missing)}")
        broken = [r.stage for r in reports if r.status == BROKEN and r.required]
        if broken:
            raise CommandError(f"broken: {', '.join(broken)}")
