"""Persisting the transcript off the real-time path, losing nothing.

The session enqueues records and returns at once; one writer task per session applies them in
order through a ``TranscriptStore`` (the kiosk app's services). A store that cannot be reached
for now (database restarting) raises ``StoreUnavailable``: the record is retried with backoff,
never dropped. Writes are idempotent by id, so a retry after a lost acknowledgement does not
duplicate anything. Any other failure is permanent (the record itself is bad: text the database
refuses, a turn that does not exist): retrying it would block every record behind it for ever,
so it is logged and skipped, and the rest of the conversation is still written.
"""
import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from avatar_runtime.pipeline.clock import Clock

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store cannot be reached for now; the same write may succeed later."""


class TranscriptStore(Protocol):
    async def conversation_start(self, conversation_id: uuid.UUID, language: str) -> None: ...

    async def turn_append(self, conversation_id: uuid.UUID, turn_id: uuid.UUID, role: str,
                          fields: dict[str, Any]) -> None: ...

    async def turn_update(self, turn_id: uuid.UUID, fields: dict[str, Any]) -> None: ...

    async def clip_attach(self, turn_id: uuid.UUID, kind: str, content: bytes, filename: str) -> None: ...

    async def conversation_end(self, conversation_id: uuid.UUID, reason: str) -> None: ...

    async def handoff_request(self, conversation_id: uuid.UUID) -> None: ...


@dataclass(frozen=True)
class Record:
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


class TranscriptWriter:
    def __init__(self, store: TranscriptStore, clock: Clock, session_id: str, max_backoff: float = 5.0) -> None:
        self._store = store
        self._clock = clock
        self._session = session_id
        self._queue: asyncio.Queue[Record] = asyncio.Queue()
        self._max_backoff = max_backoff
        self.written = 0
        self.rejected = 0  # records the store refused for good

    def put(self, method: str, *args: Any, **kwargs: Any) -> None:
        self._queue.put_nowait(Record(method, args, kwargs))

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        while True:
            record = await self._queue.get()
            await self._apply(record)
            self._queue.task_done()

    async def _apply(self, record: Record) -> None:
        delay = 0.1
        while True:
            try:
                await getattr(self._store, record.method)(*record.args, **record.kwargs)
                self.written += 1
                return
            except StoreUnavailable as exc:
                log.warning("session %s: transcript %s failed (%s); retrying in %.1fs",
                            self._session, record.method, exc, delay)
                await self._clock.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
            except Exception as exc:  # noqa: BLE001 - permanent: this record can never be written
                self.rejected += 1
                log.error("session %s: transcript %s refused (%s); skipped, the next records are written",
                          self._session, record.method, type(exc).__name__)
                return

    async def drain(self, timeout: float) -> bool:
        """Wait until everything queued is written; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
            return True
        except TimeoutError:
            return False
