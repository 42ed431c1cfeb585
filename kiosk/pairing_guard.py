"""Pairing codes cannot be guessed: wrong codes are throttled and every open code has a budget of wrong tries.

A wrong try does not say which code it aimed at, so it is charged to every code open at that
moment: once ``PAIRING_CODE_MAX_FAILURES`` wrong tries were made while a code was open, that
code is voided (audited as ``kiosk.pairing_code_locked``) and staff issue a new one. Whatever
the number of clients, a guesser so gets at most that many tries at any one code in its whole
life: with the defaults (10 tries, 8 digits for 15-minute codes, 12 for longer-lived ones) at
most a 1 in 10^7 chance per 15-minute code and 1 in 10^11 per 24-hour code. The price is that a
flood of wrong codes voids a code being typed in; staff then issue a fresh one.

On top of that, wrong codes are counted per client address (``PAIRING_MAX_FAILURES_PER_ADDRESS``)
and over all addresses (``PAIRING_MAX_FAILURES``) in a window of ``PAIRING_FAILURE_WINDOW_SECONDS``:
past either limit every attempt from there (or from anywhere) is refused with 429 until the
window ends, even with the right code, so a guesser cannot go on at full speed.
"""
import logging
import math

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from audit.log import audit_record
from common.errors import ApplicationError
from common.ratelimit import Throttle, throttle_key, window_hit, window_throttle
from kiosk.models import Kiosk
from kiosk.pairing import kiosk_pair

logger = logging.getLogger(__name__)
GLOBAL_KEY = throttle_key("pairing-all")


def _address_key(address: str) -> str:
    return throttle_key("pairing-address", address)


def _code_key(code_hash: str) -> str:
    return throttle_key("pairing-code", code_hash)


def _throttle(address: str) -> Throttle:
    throttles = [window_throttle(_address_key(address), limit=settings.PAIRING_MAX_FAILURES_PER_ADDRESS),
                 window_throttle(GLOBAL_KEY, limit=settings.PAIRING_MAX_FAILURES)]
    return max(throttles, key=lambda throttle: (throttle.locked, throttle.retry_after))


@transaction.atomic
def _open_codes_charge() -> None:
    """One wrong try against every open code; a code out of budget is voided."""
    now = timezone.now()
    open_codes = Kiosk.objects.select_for_update().filter(pairing_expires_at__gt=now).exclude(pairing_code_hash="")
    for kiosk in open_codes:
        lifetime = max(1, math.ceil((kiosk.pairing_expires_at - now).total_seconds()))  # type: ignore[operator]
        failures = window_hit(_code_key(kiosk.pairing_code_hash), window=lifetime)
        if failures >= settings.PAIRING_CODE_MAX_FAILURES:
            kiosk.pairing_code_hash = ""
            kiosk.pairing_expires_at = None
            kiosk.save(update_fields=["pairing_code_hash", "pairing_expires_at"])
            audit_record(actor=None, action="kiosk.pairing_code_locked", target=kiosk, after={"wrong_tries": failures})
            logger.warning("pairing code of kiosk %s voided after %d wrong tries", kiosk.pk, failures)


def _failure_record(address: str) -> None:
    window = settings.PAIRING_FAILURE_WINDOW_SECONDS
    window_hit(_address_key(address), window=window)
    window_hit(GLOBAL_KEY, window=window)
    _open_codes_charge()


def kiosk_pair_attempt(*, code: str, address: str) -> tuple[Kiosk, str]:
    """:func:`kiosk.pairing.kiosk_pair` for a code typed in by ``address``, throttled and charged when wrong."""
    throttle = _throttle(address)
    if throttle.locked:
        minutes = max(1, math.ceil(throttle.retry_after / 60))
        message = ngettext("Too many wrong pairing codes. Try again in %(minutes)d minute.",
                           "Too many wrong pairing codes. Try again in %(minutes)d minutes.", minutes) % {"minutes": minutes}
        raise ApplicationError("pairing_rate_limited", message, status=429, extra={"retry_after": throttle.retry_after})
    try:
        return kiosk_pair(code=code)
    except ApplicationError as exc:
        if exc.code == "pairing_code_invalid":
            _failure_record(address)
        raise
