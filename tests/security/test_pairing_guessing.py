"""Pairing codes cannot be guessed: wrong codes are throttled per address and overall, an open code is voided
after a few wrong tries, and long-lived codes are longer."""
import ipaddress
import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client

from audit.models import AuditEntry
from common.ratelimit import window_clear
from kiosk.models import Kiosk, Venue
from kiosk.pairing import kiosk_pairing_code_create
from kiosk.pairing_guard import GLOBAL_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Generous limits unless a test lowers one; the count over all addresses lives in the shared cache
    (Redis outlives a test), so each test starts it from zero. Per-address counts need no clearing:
    every test uses addresses of its own."""
    settings.PAIRING_MAX_FAILURES_PER_ADDRESS = 100
    settings.PAIRING_MAX_FAILURES = 100
    settings.PAIRING_CODE_MAX_FAILURES = 100
    window_clear(GLOBAL_KEY)
    yield
    window_clear(GLOBAL_KEY)


def new_address() -> str:
    """A fresh address from the documentation range 2001:db8::/32."""
    return str(ipaddress.IPv6Address((0x20010DB8 << 96) | secrets.randbits(96)))


def new_kiosk(name: str = "Gate kiosk") -> Kiosk:
    return Kiosk.objects.create(name=name, venue=Venue.objects.create(name="Venue"))


def pair(code: str, address: str):  # type: ignore[no-untyped-def]
    return Client().post("/pair/", {"code": code}, REMOTE_ADDR=address)


def wrong_code(right: str) -> str:
    return str((int(right) + 1) % 10 ** len(right)).zfill(len(right))


def test_one_address_is_stopped_after_a_few_wrong_codes_even_with_the_right_one(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PAIRING_MAX_FAILURES_PER_ADDRESS = 3
    code = kiosk_pairing_code_create(kiosk=new_kiosk())
    guesser = new_address()
    for _ in range(3):
        assert pair(wrong_code(code), guesser).status_code == 400
    refused = pair(code, guesser)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 900
    assert b"Too many wrong pairing codes" in refused.content and "kiosk_device" not in refused.cookies
    assert pair(code, new_address()).status_code == 302  # the real screen, elsewhere, still pairs


def test_many_addresses_together_are_stopped(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PAIRING_MAX_FAILURES = 5
    code = kiosk_pairing_code_create(kiosk=new_kiosk())
    for _ in range(5):
        assert pair(wrong_code(code), new_address()).status_code == 400
    assert pair(code, new_address()).status_code == 429


def test_an_open_code_is_voided_after_a_few_wrong_tries_and_staff_issue_a_new_one(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PAIRING_CODE_MAX_FAILURES = 3
    kiosk = new_kiosk()
    code = kiosk_pairing_code_create(kiosk=kiosk)
    for _ in range(3):  # each from another address: no address limit is reached
        assert pair(wrong_code(code), new_address()).status_code == 400
    assert pair(code, new_address()).status_code == 400  # voided: guessing it now is pointless
    entry = AuditEntry.objects.get(action="kiosk.pairing_code_locked")
    assert entry.target_id == str(kiosk.pk) and entry.after == {"wrong_tries": 3}
    fresh = kiosk_pairing_code_create(kiosk=kiosk)  # tries made before a code existed are not charged to it
    assert pair(wrong_code(fresh), new_address()).status_code == 400
    assert pair(fresh, new_address()).status_code == 302


def test_long_lived_codes_are_longer() -> None:
    kiosk = new_kiosk()
    assert len(kiosk_pairing_code_create(kiosk=kiosk)) == 8  # 15 minutes
    day_code = kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(hours=24))
    assert len(day_code) == 12 and day_code.isdigit()
    assert pair(day_code[:6] + " " + day_code[6:], new_address()).status_code == 302
