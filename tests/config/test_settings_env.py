"""Settings come from the environment, with safe local defaults and refusals in production."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings as s; django.setup(); "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'db_name': str(s.DATABASES['default']['NAME']), "
    "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'eager': s.CELERY_TASK_ALWAYS_EAGER, "
    "'broker': s.CELERY_BROKER_URL, 'hosts': s.ALLOWED_HOSTS, 'models': str(s.MODELS_DIR), "
    "'media': str(s.MEDIA_ROOT), 'debug': s.DEBUG, 'secret_len': len(s.SECRET_KEY), "
    "'hsts': getattr(s, 'SECURE_HSTS_SECONDS', 0), 'secure_cookie': getattr(s, 'SESSION_COOKIE_SECURE', False)}))"
)
STRIP = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MODELS_DIR", "DJANGO_ALLOWED_HOSTS", "DJANGO_ENV",
         "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_MEDIA_ROOT", "CELERY_TASK_ALWAYS_EAGER")


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in STRIP}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "KIOSK_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True,
                          check=False)


def test_defaults_run_on_a_laptop(tmp_path: Path) -> None:
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["db_name"].startswith(str(tmp_path / "var"))
    assert values["layer"] == "channels.layers.InMemoryChannelLayer"
    assert values["eager"] is True
    assert values["hosts"] == ["127.0.0.1", "localhost", "[::1]"]
    assert values["models"] == str(tmp_path / "var" / "models")
    assert values["debug"] is False
    # A random local key is generated once, kept outside the repository, and reused.
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.exists() and values["secret_len"] >= 50
    again = json.loads(load_settings(tmp_path).stdout)
    assert again["secret_len"] == values["secret_len"]


def test_environment_switches_to_postgres_and_redis(tmp_path: Path) -> None:
    result = load_settings(
        tmp_path,
        DATABASE_URL="postgres://kiosk@db.internal:5432/kiosk",
        REDIS_URL="redis://cache.internal:6379/1",
        MODELS_DIR=str(tmp_path / "models"),
        DJANGO_ALLOWED_HOSTS="kiosk.example.com, console.example.com",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["db"] == "django.db.backends.postgresql"
    assert values["db_name"] == "kiosk"
    assert values["layer"] == "channels_redis.core.RedisChannelLayer"
    assert values["eager"] is False
    assert values["broker"] == "redis://cache.internal:6379/1"
    assert values["hosts"] == ["kiosk.example.com", "console.example.com"]
    assert values["models"] == str(tmp_path / "models")


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    result = load_settings(tmp_path, DJANGO_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_turns_on_hsts_and_secure_cookies(tmp_path: Path) -> None:
    result = load_settings(tmp_path, DJANGO_ENV="production", DJANGO_SECRET_KEY="x" * 60)
    values = json.loads(result.stdout)
    assert values["hsts"] >= 31536000
    assert values["secure_cookie"] is True


@pytest.mark.parametrize("raw", ["maybe", "2"])
def test_malformed_boolean_is_a_clear_error(tmp_path: Path, raw: str) -> None:
    result = load_settings(tmp_path, DJANGO_DEBUG=raw)
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr
