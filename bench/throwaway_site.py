"""A benchmark's own throwaway site: a temporary SQLite database and media folder, no services.

Call ``throwaway_site_use()`` before ``django.setup()``, with the project root on ``sys.path``.
A background-job child process imports the benchmark again: it finds the parent's folder in
the environment and uses it, rather than making an empty database of its own.
"""
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FOLDER = "KIOSK_BENCH_VAR_DIR"


def throwaway_site_use() -> None:
    os.environ.setdefault("MODELS_DIR", str(ROOT / "var" / "models"))
    if _FOLDER not in os.environ:
        os.environ[_FOLDER] = tempfile.mkdtemp(prefix="kiosk-bench-")
    os.environ["KIOSK_VAR_DIR"] = os.environ[_FOLDER]
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
