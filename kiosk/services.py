"""Writes for kiosk devices that their page makes (heartbeats, the avatar's state, its microphone)."""
from django.utils import timezone

from kiosk.models import MICROPHONE_PROBLEMS, Kiosk

KIOSK_STATES = ("idle", "listening", "thinking", "speaking")
KIOSK_SERVICE_LEVELS = ("", "busy", "reduced_video", "voice_only")


def kiosk_touch(*, kiosk: Kiosk, state: str | None = None) -> None:
    """The kiosk's page is connected now (a heartbeat), its avatar in ``state`` when that changed."""
    if state is None:
        Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now())
        return
    if state not in KIOSK_STATES:
        raise ValueError(f"unknown kiosk state {state!r}")
    Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now(), state=state)


def kiosk_microphone_report(*, kiosk: Kiosk, problem: str) -> None:
    """The page's microphone works (``problem=""``) or is denied, missing or failed."""
    if problem and problem not in MICROPHONE_PROBLEMS:
        raise ValueError(f"unknown microphone problem {problem!r}")
    Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now(), microphone=problem)


def kiosk_page_closed(*, kiosk: Kiosk) -> None:
    """The page's connection ended (closed, or gone silent): the console shows the kiosk offline
    at once rather than when its last heartbeat grows old; the next heartbeat brings it back."""
    Kiosk.objects.filter(pk=kiosk.pk).update(page_closed_at=timezone.now(), state="")
def kiosk_service_record(*, kiosk: Kiosk, service: str) -> None:
    """How the kiosk's session is served now (``KIOSK_SERVICE_LEVELS``), for the console."""
    if service not in KIOSK_SERVICE_LEVELS:
        raise ValueError(f"unknown kiosk service level {service!r}")
    Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now(), service=service)
