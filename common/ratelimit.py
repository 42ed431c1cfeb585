"""Fixed-window failure counters in the shared cache (Redis in production), and the login throttle.

A counter's window starts at its first failure and lasts ``window`` seconds; once ``limit``
failures are counted, the key is locked until the window ends, so guessing cannot continue at
full speed. Keys are hashes: no username or address is stored in clear.

Failed logins are counted twice: per (username, client address), which locks one account from
one place, and per client address alone (``LOGIN_MAX_FAILURES_PER_ADDRESS``), which stops one
place trying many usernames. A successful login clears the first count only: otherwise an
attacker holding any one account could reset their address's count between guesses.
"""
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Throttle:
    locked: bool
    retry_after: int  # seconds until the lock ends (0 when not locked)


UNLOCKED = Throttle(False, 0)


def _now() -> float:
    return time.time()


def throttle_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"throttle:{kind}:{digest}"


def window_throttle(key: str, *, limit: int) -> Throttle:
    values = cache.get_many([key, f"{key}:until"])
    remaining = float(values.get(f"{key}:until", 0)) - _now()
    if int(values.get(key, 0)) < limit or remaining <= 0:
        return UNLOCKED
    return Throttle(True, max(1, math.ceil(remaining)))


def window_hit(key: str, *, window: int) -> int:
    """Count one failure; returns the count in the current window."""
    now = _now()
    until = cache.get(f"{key}:until")
    if until is None or float(until) <= now:
        cache.set_many({key: 0, f"{key}:until": now + window}, timeout=window)
    try:
        return int(cache.incr(key))  # atomic in Redis: concurrent failures are all counted
    except ValueError:  # expired between the two calls
        cache.set_many({key: 1, f"{key}:until": now + window}, timeout=window)
        return 1


def window_clear(key: str) -> None:
    cache.delete_many([key, f"{key}:until"])


def _login_keys(username: str, address: str) -> tuple[str, str]:
    return throttle_key("login", username.strip().lower(), address), throttle_key("login-address", address)


def login_throttle(*, username: str, address: str) -> Throttle:
    pair_key, address_key = _login_keys(username, address)
    throttles = [window_throttle(pair_key, limit=settings.LOGIN_MAX_FAILURES),
                 window_throttle(address_key, limit=settings.LOGIN_MAX_FAILURES_PER_ADDRESS)]
    return max(throttles, key=lambda throttle: (throttle.locked, throttle.retry_after))


def login_failure_record(*, username: str, address: str) -> None:
    for key in _login_keys(username, address):
        window_hit(key, window=settings.LOGIN_LOCKOUT_SECONDS)


def login_failures_clear(*, username: str, address: str) -> None:
    window_clear(_login_keys(username, address)[0])
