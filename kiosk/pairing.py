"""Kiosk pairing and device tokens.

A staff admin creates a short one-time pairing code for a kiosk in the console; the kiosk's
browser exchanges it once for a long random device token, kept in an HttpOnly cookie. Only
SHA-256 hashes of codes and tokens are stored. Rotating (a new pairing) or revoking a token
disconnects the screen that holds it.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import ApplicationError
from kiosk.models import Kiosk

TOKEN_COOKIE = "kiosk_device"  # noqa: S105 - a cookie name, not a secret
PAIRING_TTL = timedelta(minutes=15)
PAIRING_DIGITS = 8  # codes that live at most PAIRING_TTL
PAIRING_DIGITS_LONG = 12  # longer-lived ones (the console's 24 hours, the demo's): more time to guess, more digits


def kiosk_group(kiosk_id: int) -> str:
    """The channel-layer group every open WebSocket of one kiosk joins."""
    return f"kiosk-device-{kiosk_id}"


def _disconnect_screens_on_commit(kiosk_id: int) -> None:
    """Once the new token is committed, the screens holding the old one are closed."""
    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(kiosk_group(kiosk_id), {"type": "kiosk.token_revoked"})

    transaction.on_commit(send)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def kiosk_pairing_code_create(*, kiosk: Kiosk, ttl: timedelta = PAIRING_TTL) -> str:
    """A fresh one-time code for ``kiosk`` (the previous one stops working)."""
    digits = PAIRING_DIGITS if ttl <= PAIRING_TTL else PAIRING_DIGITS_LONG
    code = "".join(secrets.choice("0123456789") for _ in range(digits))
    kiosk.pairing_code_hash = _digest(code)
    kiosk.pairing_expires_at = timezone.now() + ttl
    kiosk.save(update_fields=["pairing_code_hash", "pairing_expires_at"])
    return code


@transaction.atomic
def kiosk_pair(*, code: str) -> tuple[Kiosk, str]:
    """Exchange a pairing code for a device token; the code is used up."""
    cleaned = "".join(ch for ch in code if ch.isdigit())
    if len(cleaned) not in (PAIRING_DIGITS, PAIRING_DIGITS_LONG):
        raise ApplicationError("pairing_code_invalid", _("That pairing code is not valid."))
    kiosk = Kiosk.objects.select_for_update().filter(pairing_code_hash=_digest(cleaned)).first()
    if kiosk is None or kiosk.pairing_expires_at is None or kiosk.pairing_expires_at < timezone.now():
        raise ApplicationError("pairing_code_invalid", _("That pairing code is not valid or has expired."))
    if not kiosk.enabled:
        raise ApplicationError("kiosk_disabled", _("This kiosk is disabled."), status=403)
    token = secrets.token_urlsafe(32)
    kiosk.token_hash = _digest(token)
    kiosk.pairing_code_hash = ""
    kiosk.pairing_expires_at = None
    kiosk.paired_at = timezone.now()
    kiosk.save(update_fields=["token_hash", "pairing_code_hash", "pairing_expires_at", "paired_at"])
    _disconnect_screens_on_commit(kiosk.pk)  # a re-pairing rotates the token: the old screen goes
    return kiosk, token


def kiosk_for_token(token: str | None) -> Kiosk | None:
    """The enabled kiosk holding ``token``, or None."""
    if not token or len(token) > 200:
        return None
    digest = _digest(token)
    kiosk = Kiosk.objects.select_related("avatar", "venue").filter(token_hash=digest, enabled=True).first()
    if kiosk is None or not hmac.compare_digest(kiosk.token_hash, digest):
        return None
    return kiosk


@transaction.atomic
def kiosk_token_revoke(*, kiosk: Kiosk) -> None:
    kiosk.token_hash = ""
    kiosk.save(update_fields=["token_hash"])
    _disconnect_screens_on_commit(kiosk.pk)
