"""Background jobs of the kiosk app."""
from celery import shared_task

from kiosk.handoff_alerts import handoff_alert_send


@shared_task(name="kiosk.tasks.handoff_alert")
def handoff_alert_task(handoff_id: int) -> dict[str, bool]:
    """A venue's e-mail and webhook for a new call for staff (retries wait here, not in a web process)."""
    return handoff_alert_send(handoff_id=handoff_id)
