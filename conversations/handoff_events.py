"""Announcing hand-off changes on the channel layer, after commit.

Two audiences: the console (``HANDOFF_DESK_GROUP``: the desk page and every console page's open
count) and the kiosk the customer stands at (``handoff_kiosk_group``: its page tells them what is
happening). Messages carry ids and the status only; readers fetch what they show.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from conversations.models import HandoffRequest

log = logging.getLogger(__name__)
HANDOFF_DESK_GROUP = "handoff-desk"
HANDOFF_CHANGED = "handoff.changed"  # the consumers' handler: handoff_changed


def handoff_kiosk_group(kiosk_id: int) -> str:
    """The group every open WebSocket of one kiosk joins to hear about its customers' hand-offs."""
    return f"handoff-kiosk-{kiosk_id}"


def handoff_announce_on_commit(handoff: HandoffRequest) -> None:
    message = {"type": HANDOFF_CHANGED, "id": handoff.pk, "status": handoff.status, "kiosk_id": handoff.kiosk_id}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(HANDOFF_DESK_GROUP, message)
            if handoff.kiosk_id is not None:
                async_to_sync(layer.group_send)(handoff_kiosk_group(handoff.kiosk_id), message)
        except Exception as exc:  # noqa: BLE001 - the layer is down: the change is saved, pages see it on reload
            log.warning("hand-off %s: could not announce %s (%s)", handoff.pk, handoff.status, type(exc).__name__)

    transaction.on_commit(send)
