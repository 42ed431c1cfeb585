"""WebSocket routes of the console."""
from django.urls import URLPattern, URLResolver, path

from adminconsole.consumers import HandoffDeskConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/console/handoffs/", HandoffDeskConsumer.as_asgi()),
]
