"""Background jobs of the avatars app.

The task keeps the name it was registered under in ``kiosk``: jobs queued before a deploy
carry that name, so it stays the task's identity (as the moved models keep their tables).
"""
from celery import shared_task

from avatars.services import avatar_prepare
from common.errors import ApplicationError


@shared_task(name="kiosk.tasks.avatar_prepare", acks_late=True)
def avatar_prepare_task(avatar_id: int) -> str:
    """Prepare an uploaded avatar; an unusable photo ends as a failed avatar, not a retried job."""
    try:
        return avatar_prepare(avatar_id=avatar_id).status
    except ApplicationError as exc:
        return f"failed: {exc.code}"
