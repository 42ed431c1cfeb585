"""The Celery app, configured from the same Django settings (``CELERY_*`` names)."""
import os

from celery import Celery
from celery.signals import worker_process_init

from common.priority import run_this_thread_in_background

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kiosk_avatar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _jobs_in_background(**_: object) -> None:
    """Each job process gives way to the kiosks' media and inference (``common.priority``): on a venue's
    small box Celery shares the cores with the avatar worker."""
    run_this_thread_in_background()
