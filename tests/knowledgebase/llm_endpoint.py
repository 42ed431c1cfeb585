"""The scripted OpenAI-compatible endpoint (``tests/avatar_runtime/llm/scripted_server.py``) served
from a thread, for the knowledge base's blocking model calls: ``settings.LLM_BASE_URL`` points at it."""
import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tests.avatar_runtime.llm.scripted_server import ScriptedServer, Step


@contextmanager
def scripted_llm(settings: Any, script: Sequence[Step]) -> Iterator[ScriptedServer]:
    """Serve ``script`` (one step per request) and configure it as the model server until exit."""
    loop = asyncio.new_event_loop()
    server = ScriptedServer(list(script))
    thread = threading.Thread(target=loop.run_forever, name="scripted-llm", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(timeout=5)
    settings.LLM_BASE_URL, settings.LLM_MODEL = server.base_url, "scripted"
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
