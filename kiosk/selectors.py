"""Reads for the kiosk app."""
from kiosk.models import Avatar, Kiosk


def kiosk_default() -> Kiosk | None:
    """The first enabled kiosk: what an unpaired laptop demo shows until pairing exists."""
    return Kiosk.objects.filter(enabled=True).select_related("avatar", "venue").order_by("id").first()


def avatar_ready_list() -> list[Avatar]:
    return list(Avatar.objects.filter(status=Avatar.Status.READY).order_by("name"))
