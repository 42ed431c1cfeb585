"""Subprocess for the PostgreSQL-restart test: a session's transcript writer against ``DATABASE_URL``.

Prints ``READY`` once migrated, ``ACK <turn id>`` for every turn the writer has stored
(acknowledged), and ``DONE <pending>`` after draining. Run: ``python -m tests.reliability.transcript_driver N``.
"""
import asyncio
import os
import sys
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from avatar_runtime.pipeline.clock import RealClock  # noqa: E402
from avatar_runtime.pipeline.transcript import TranscriptWriter  # noqa: E402
from conversations.transcript_store import DjangoTranscriptStore  # noqa: E402


class AckingStore(DjangoTranscriptStore):
    """The real store; prints each turn once the database has committed it."""

    async def turn_append(self, conversation_id: uuid.UUID, turn_id: uuid.UUID, role: str,
                          fields: dict[str, object]) -> None:
        await super().turn_append(conversation_id, turn_id, role, fields)
        print(f"ACK {turn_id}", flush=True)


async def main(turns: int) -> None:
    writer = TranscriptWriter(AckingStore(None), RealClock(), "restart-test", max_backoff=0.5)
    task = asyncio.create_task(writer.run())
    conversation = uuid.uuid4()
    writer.put("conversation_start", conversation, "en")
    print("READY", flush=True)
    for i in range(turns):
        writer.put("turn_append", conversation, uuid.uuid4(), "customer" if i % 2 == 0 else "avatar",
                   {"text": f"turn {i}", "language": "en", "complete": True})
        await asyncio.sleep(0.2)
    drained = await writer.drain(timeout=60)
    print(f"DONE {writer.pending} {drained}", flush=True)
    task.cancel()


if __name__ == "__main__":
    call_command("migrate", verbosity=0)
    asyncio.run(main(int(sys.argv[1])))
