"""Project configuration: settings, ASGI/WSGI entry points, Celery app, URL root."""
from config.celery import app as celery_app

__all__ = ["celery_app"]
