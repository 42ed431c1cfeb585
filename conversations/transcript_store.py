"""The avatar runtime's ``TranscriptStore``, backed by the conversations app's services.

A database that cannot be reached (restarting, failing over, locked) is ``StoreUnavailable``:
the runtime retries. Everything else (text the database refuses, a missing turn) is permanent.
"""
import uuid
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError

from avatar_runtime.pipeline.transcript import StoreUnavailable
from conversations import services

# OSError: media storage (answer clips) unreachable or full.
_UNAVAILABLE = (OperationalError, InterfaceError, OSError)


async def _write(service: Callable[..., Any], **kwargs: Any) -> None:
    try:
        await database_sync_to_async(service)(**kwargs)
    except _UNAVAILABLE as exc:
        raise StoreUnavailable(type(exc).__name__) from exc


class DjangoTranscriptStore:
    def __init__(self, kiosk_id: int | None) -> None:
        self.kiosk_id = kiosk_id

    async def conversation_start(self, conversation_id: uuid.UUID, language: str) -> None:
        await _write(services.conversation_start, public_id=conversation_id, kiosk_id=self.kiosk_id, language=language)

    async def turn_append(self, conversation_id: uuid.UUID, turn_id: uuid.UUID, role: str,
                          fields: dict[str, Any]) -> None:
        await _write(services.transcript_turn_append, conversation_id=conversation_id, turn_id=turn_id, role=role,
                     fields=fields)

    async def turn_update(self, turn_id: uuid.UUID, fields: dict[str, Any]) -> None:
        await _write(services.transcript_turn_update, turn_id=turn_id, fields=fields)

    async def clip_attach(self, turn_id: uuid.UUID, kind: str, content: bytes, filename: str) -> None:
        await _write(services.turn_clip_attach, turn_id=turn_id, kind=kind, content=content, filename=filename)

    async def conversation_end(self, conversation_id: uuid.UUID, reason: str) -> None:
        await _write(services.conversation_end, public_id=conversation_id, reason=reason)

    async def handoff_request(self, conversation_id: uuid.UUID) -> None:
        await _write(services.handoff_request_create, conversation_id=conversation_id)
