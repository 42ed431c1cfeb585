"""The Celery app, configured from the same Django settings (``CELERY_*`` names)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kiosk_avatar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
