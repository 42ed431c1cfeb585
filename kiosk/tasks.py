"""Background jobs of the kiosk app."""
from celery import shared_task

from common.errors import ApplicationError
from kiosk.avatars import avatar_prepare


@shared_task(name="kiosk.tasks.avatar_prepare", acks_late=True)
def avatar_prepare_task(avatar_id: int) -> str:
    """Prepare an uploaded avatar; an unusable photo ends as a failed avatar, not a retried job."""
    try:
        return avatar_prepare(avatar_id=avatar_id).status
    except ApplicationError as exc:
        return f"failed: {exc.code}"
