"""WebSocket routes of the kiosk (session control, signalling, media fallback)."""
from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
