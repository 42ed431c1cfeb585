"""An OpenAI-compatible endpoint on loopback that answers from a script: exact model output and failures on cue.

It speaks just enough HTTP/1.1 and server-sent events for ``/v1/chat/completions``:
``script`` lists, per request, either an HTTP status to answer with, ``"hang"`` (never
answer), or text chunks to stream, ending with ``"<drop>"`` to cut the connection mid-way.
"""
import asyncio
import json
from contextlib import suppress

Step = int | str | list[str]


def _http_chunk(data: bytes) -> bytes:
    """Chunked transfer encoding, so that a cut connection is an error and not a normal end of the body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _event(text: str) -> bytes:
    payload = {
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "test",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return _http_chunk(f"data: {json.dumps(payload)}\n\n".encode())


class ScriptedServer:
    def __init__(self, script: list[Step]) -> None:
        self.script = list(script)
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._hanging: list[asyncio.StreamWriter] = []

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aenter__(self) -> "ScriptedServer":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._hanging:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers = await reader.readuntil(b"\r\n\r\n")
        lengths = [int(line.split(b":")[1]) for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length")]
        length = lengths[0] if lengths else 0
        await reader.readexactly(length)
        step = self.script[min(self.requests, len(self.script) - 1)]
        self.requests += 1
        if step == "hang":
            self._hanging.append(writer)
            return
        if isinstance(step, int):
            body = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
            writer.write(f"HTTP/1.1 {step} Scripted\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n")
            for piece in step:
                if piece == "<drop>":
                    await writer.drain()
                    writer.transport.abort()
                    return
                writer.write(_event(piece))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(_http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        with suppress(ConnectionError):
            writer.close()
            await writer.wait_closed()
