"""The avatar runtime's ``TranscriptStore``, backed by the kiosk app's services."""
import uuid
from typing import Any

from channels.db import database_sync_to_async

from kiosk import services


class DjangoTranscriptStore:
    def __init__(self, kiosk_id: int | None) -> None:
        self.kiosk_id = kiosk_id

    async def conversation_start(self, conversation_id: uuid.UUID, language: str) -> None:
        await database_sync_to_async(services.conversation_start)(
            public_id=conversation_id, kiosk_id=self.kiosk_id, language=language
        )

    async def turn_append(self, conversation_id: uuid.UUID, turn_id: uuid.UUID, role: str,
                          fields: dict[str, Any]) -> None:
        await database_sync_to_async(services.transcript_turn_append)(
            conversation_id=conversation_id, turn_id=turn_id, role=role, fields=fields
        )

    async def turn_update(self, turn_id: uuid.UUID, fields: dict[str, Any]) -> None:
        await database_sync_to_async(services.transcript_turn_update)(turn_id=turn_id, fields=fields)

    async def clip_attach(self, turn_id: uuid.UUID, kind: str, content: bytes, filename: str) -> None:
        await database_sync_to_async(services.turn_clip_attach)(
            turn_id=turn_id, kind=kind, content=content, filename=filename
        )

    async def conversation_end(self, conversation_id: uuid.UUID, reason: str) -> None:
        await database_sync_to_async(services.conversation_end)(public_id=conversation_id, reason=reason)

    async def handoff_request(self, conversation_id: uuid.UUID) -> None:
        await database_sync_to_async(services.handoff_request_create)(conversation_id=conversation_id)
