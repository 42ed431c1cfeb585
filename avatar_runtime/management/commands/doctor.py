"""``manage.py doctor``: per stage, the backend in use, why, and what production lacks."""
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from avatar_runtime.doctor import BROKEN, DoctorConfig, diagnose
from avatar_runtime.infra import check_broker, check_channel_layer, check_database
from avatar_runtime.selectors import backend_health_snapshot


class Command(BaseCommand):
    help = "Show which backend each stage uses and why; exit 1 when a required part is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        reports = [*diagnose(DoctorConfig.from_settings()), check_database(), check_channel_layer(), check_broker()]
        if options["json"]:  # the live health per worker is GET /api/health/backends/
            self.stdout.write(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
        else:
            style = {"ok": self.style.SUCCESS, "degraded": self.style.WARNING, "broken": self.style.ERROR}
            for r in reports:
                self.stdout.write(f"{r.stage:14} {style[r.status](f'{r.status:9}')} {r.backend:28} {r.reason}")
                if r.missing:
                    self.stdout.write(f"{'':24} for {r.production}: needs {', '.join(r.missing)}")
            self._write_workers(backend_health_snapshot())
        broken = [r.stage for r in reports if r.status == BROKEN and r.required]
        if broken:
            raise CommandError(f"broken: {', '.join(broken)}")

    def _write_workers(self, workers: list[dict[str, Any]]) -> None:
        """The live health each avatar worker published (the shared cache: Redis in production)."""
        self.stdout.write("")
        if not workers:
            self.stdout.write("live backend health: no avatar worker has published any (none running, or the cache "
                              "is this process's own memory: set REDIS_URL to see the workers' health)")
            return
        style = {"healthy": self.style.SUCCESS, "degraded": self.style.WARNING, "down": self.style.ERROR}
        for worker in workers:
            stale = " STALE (no publication for a while)" if worker["stale"] else ""
            self.stdout.write(f"worker {worker['worker_id']}: published {worker['age_s']} s ago{stale}")
            for b in worker["backends"]:
                state = str(b["state"])
                self.stdout.write(f"  {b['component']:12} {style.get(state, self.style.ERROR)(f'{state:9}')} "
                                  f"{b['backend']:12} {b['reason']}")
