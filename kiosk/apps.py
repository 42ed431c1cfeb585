from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from conversations.models import HandoffRequest


def _handoff_requested(sender: type, *, handoff: "HandoffRequest", **kwargs: Any) -> None:
    """A venue with e-mail or webhook alerts gets them once the request is committed."""
    from django.db import transaction

    from common.jobs import enqueue
    from kiosk.handoff_alerts import venue_alerts_configured
    from kiosk.models import Venue
    from kiosk.tasks import handoff_alert_task

    venue = Venue.objects.filter(kiosks__pk=handoff.kiosk_id).first() if handoff.kiosk_id else None
    if venue is not None and venue_alerts_configured(venue):
        transaction.on_commit(lambda: enqueue(handoff_alert_task, handoff.pk))


class KioskConfig(AppConfig):
    name = "kiosk"
    verbose_name = "Kiosks"

    def ready(self) -> None:
        from conversations.signals import handoff_requested

        handoff_requested.connect(_handoff_requested, dispatch_uid="kiosk.handoff_requested")
