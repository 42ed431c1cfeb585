"""WebSocket routes of the kiosk (session control, signalling, media fallback)."""
from django.urls import URLPattern, URLResolver, path

from kiosk.consumers import KioskConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/kiosk/", KioskConsumer.as_asgi()),
]
