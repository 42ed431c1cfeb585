"""The console's WebSocket: hand-off requests as they come and change (staff and up).

Every console page opens it for the open count beside "Hand-off desk"; the desk page also reloads
its list and, for a new request, beeps and shows a notification with the kiosk's place.
Session-authenticated (the console's login cookie); anyone below staff is told so and closed.
"""
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from common.roles import Role, has_role
from conversations.handoff_events import HANDOFF_DESK_GROUP
from conversations.models import HandoffRequest
from conversations.selectors import handoff_get, handoff_open_count

CLOSE_FORBIDDEN = 4403  # the page does not reconnect: logging in again reloads it


def _allowed(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return user is not None and has_role(user, Role.STAFF)


def _announcement(event: dict[str, Any]) -> dict[str, Any]:
    """What the pages are told of one change: the status, the open count, and for a new request
    where the customer is waiting (for the notification)."""
    message: dict[str, Any] = {"type": "handoff", "id": event["id"], "status": event["status"],
                               "open_count": handoff_open_count()}
    if event["status"] == HandoffRequest.Status.OPEN:
        handoff = handoff_get(handoff_id=int(event["id"]))
        kiosk = handoff.kiosk if handoff is not None else None
        if kiosk is not None:
            message.update(kiosk=kiosk.name, location=kiosk.location, venue=kiosk.venue.name)
    return message


class HandoffDeskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        if not await database_sync_to_async(_allowed)(self.scope.get("user")):
            await self.send_json({"type": "error", "code": "forbidden", "message": "Log in to the console as staff."})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(HANDOFF_DESK_GROUP, self.channel_name)
        await self.send_json({"type": "hello", "open_count": await database_sync_to_async(handoff_open_count)()})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(HANDOFF_DESK_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def handoff_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(await database_sync_to_async(_announcement)(event))
