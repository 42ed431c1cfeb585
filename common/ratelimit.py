"""Failed-login throttling, kept in the shared cache (Redis in production).

Failures are counted per (username, client address) in a fixed window; once ``LOGIN_MAX_FAILURES``
is reached, every attempt for that pair is refused until the window ends, even with the right
password, so guessing cannot continue at full speed. The key is a hash: no username is stored.
"""
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class LoginThrottle:
    locked: bool
    retry_after: int  # seconds until the lock ends (0 when not locked)


def _now() -> float:
    return time.time()


def _limits() -> tuple[int, int]:
    return int(getattr(settings, "LOGIN_MAX_FAILURES", 5)), int(getattr(settings, "LOGIN_LOCKOUT_SECONDS", 900))


def client_address(request: HttpRequest | None) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


def login_throttle(*, username: str, address: str) -> LoginThrottle:
    max_failures, _window = _limits()
    record = cache.get(_key(username, address))
    if not isinstance(record, dict) or int(record.get("count", 0)) < max_failures:
        return LoginThrottle(False, 0)
    remaining = float(record.get("until", 0)) - _now()
    if remaining <= 0:
        return LoginThrottle(False, 0)
    return LoginThrottle(True, max(1, math.ceil(remaining)))


def login_failure_record(*, username: str, address: str) -> None:
    _max_failures, window = _limits()
    key = _key(username, address)
    record = cache.get(key)
    now = _now()
    if not isinstance(record, dict) or float(record.get("until", 0)) <= now:
        record = {"count": 0, "until": now + window}
    record["count"] = int(record["count"]) + 1
    cache.set(key, record, timeout=max(1, math.ceil(float(record["until"]) - now)))


def login_failures_clear(*, username: str, address: str) -> None:
    cache.delete(_key(username, address))
