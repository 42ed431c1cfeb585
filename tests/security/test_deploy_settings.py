"""Production settings: ``check --deploy`` is clean, cookies are secure, HSTS is on, debug is off."""
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRIP = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_ALLOWED_HOSTS", "DJANGO_ENV", "DJANGO_SECRET_KEY",
         "DJANGO_DEBUG", "DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_SECONDS")


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in STRIP}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "KIOSK_VAR_DIR": str(tmp_path / "var"),
                "DJANGO_ENV": "production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "DJANGO_ALLOWED_HOSTS": "kiosk.example.com", "DJANGO_CSRF_TRUSTED_ORIGINS": "https://kiosk.example.com",
                **extra})
    return env


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=production_env(tmp_path), capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_check_deploy_catches_a_weak_production_setup(tmp_path: Path) -> None:
    """The check must bite: HSTS off and debug on are reported, so a clean run above means something."""
    env = production_env(tmp_path, DJANGO_HSTS_SECONDS="0", DJANGO_DEBUG="1")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W018" in result.stderr


PROBE = (
    "import json, django; from django.conf import settings as s; django.setup(); "
    "print(json.dumps({k: getattr(s, k, None) for k in ('DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
    "'SECURE_HSTS_PRELOAD', 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', 'SECURE_PROXY_SSL_HEADER', "
    "'ALLOWED_HOSTS')}))"
)


def test_production_cookies_are_secure_and_hsts_is_a_year(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=production_env(tmp_path),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and values["SECURE_HSTS_PRELOAD"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True and values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["ALLOWED_HOSTS"] == ["kiosk.example.com"]


def test_production_responses_carry_hsts_and_redirect_plain_http(tmp_path: Path) -> None:
    """Through the real middleware stack: HTTP is redirected (but for the internal probes), HTTPS
    answers carry HSTS."""
    script = (
        "import django, json; django.setup(); from django.test import Client; c = Client(); "
        "plain = c.get('/console/login/', HTTP_HOST='kiosk.example.com'); "
        "probe = Client(raise_request_exception=False); "  # no database here: only the redirect matters
        "probes = [probe.get(p, HTTP_HOST='kiosk.example.com').status_code for p in ('/api/health/', '/metrics')]; "
        "tls = c.get('/console/login/', HTTP_HOST='kiosk.example.com', HTTP_X_FORWARDED_PROTO='https'); "
        "print(json.dumps({'plain': plain.status_code, 'location': plain.headers.get('Location'), 'probes': probes, "
        "'hsts': tls.headers.get('Strict-Transport-Security'), "
        "'csrf_cookie': str(tls.cookies.get('csrftoken', ''))}))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=production_env(tmp_path),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["plain"] == 301 and values["location"] == "https://kiosk.example.com/console/login/"
    # The internal probes answer over plain HTTP: the load balancer's liveness check and Prometheus.
    assert 301 not in values["probes"]
    assert values["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "secure" in values["csrf_cookie"].lower()
