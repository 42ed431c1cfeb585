"""Local stand-ins for Edge's speech service, for the ways a network voice fails.

``EdgeTestServer`` speaks edge-tts's WebSocket protocol (``speech.config`` and ``ssml`` in,
``turn.start``, binary ``audio`` messages and ``turn.end`` out) with real MP3 speech made by
espeak-ng and LAME, paced like a network stream. Its ``mode`` decides how it fails:

- ``speak``: the whole sentence, then ``turn.end``;
- ``stall``: ``pieces`` audio messages, then silence with the connection open;
- ``close``: ``pieces`` audio messages, then the connection closes without ``turn.end``;
- ``silent``: the WebSocket handshake, then nothing (a black hole above TCP).

``tcp_black_hole`` accepts TCP connections and never answers; ``refused_url`` is a port that
nothing listens on.
"""
import asyncio
import contextlib
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from xml.sax.saxutils import unescape

import av
import numpy as np
from aiohttp import WSMsgType, web

from avatar_runtime.audio import from_pcm16, resample

MP3_RATE = 24000
PIECE_BYTES = 1200  # 200 ms of 48 kbit/s MP3 per message


@cache
def mp3_speech(text: str) -> bytes:
    """``text`` spoken by espeak-ng, as raw 24 kHz 48 kbit/s mono MP3 frames (Edge's format)."""
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", "en-us", text], capture_output=True, check=True).stdout
    samples = resample(from_pcm16(wav[44:]), 22050, MP3_RATE)
    codec = av.CodecContext.create("libmp3lame", "w")
    codec.sample_rate = MP3_RATE
    codec.layout = "mono"
    codec.format = "s16p"
    codec.bit_rate = 48000
    frame = av.AudioFrame.from_ndarray(np.round(samples * 32767).astype(np.int16).reshape(1, -1), format="s16p",
                                       layout="mono")
    frame.sample_rate = MP3_RATE
    packets = [*codec.encode(frame), *codec.encode(None)]
    return b"".join(bytes(p) for p in packets)


def _text_message(path: str, body: str = "{}") -> str:
    return f"X-RequestId:test\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}\r\n\r\n{body}"


def _audio_message(data: bytes) -> bytes:
    header = b"X-RequestId:test\r\nContent-Type:audio/mpeg\r\nPath:audio\r\n"
    return len(header).to_bytes(2, "big") + header + data


def ssml_text(ssml: str) -> str:
    match = re.search(r"<prosody[^>]*>(.*)</prosody>", ssml, re.S)
    return unescape(match.group(1)) if match else ""


@dataclass
class EdgeTestServer:
    mode: str = "speak"
    pieces: int = 2  # audio messages before a stall or close
    pace_s: float = 0.05  # between audio messages (Edge sends faster than real time)
    requests: list[str] = field(default_factory=list)  # the SSML of every request
    sent_at: list[float] = field(default_factory=list)  # perf_counter of every audio message sent
    url: str = ""
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> "EdgeTestServer":
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=test"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the client gave up on us: fine
            await self._serve(ws)
        return ws

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        async for message in ws:
            if message.type != WSMsgType.TEXT or "Path:ssml" not in message.data:
                continue
            ssml = message.data.split("\r\n\r\n", 1)[1]
            self.requests.append(ssml)
            if self.mode == "silent":
                await asyncio.sleep(3600)
            await ws.send_str(_text_message("turn.start"))
            audio = mp3_speech(ssml_text(ssml))
            chunks = [audio[i : i + PIECE_BYTES] for i in range(0, len(audio), PIECE_BYTES)]
            if self.mode in ("stall", "close"):
                chunks = chunks[: self.pieces]
            for chunk in chunks:
                await ws.send_bytes(_audio_message(chunk))
                self.sent_at.append(time.perf_counter())
                await asyncio.sleep(self.pace_s)
            if self.mode == "stall":
                await asyncio.sleep(3600)
            if self.mode == "close":
                await ws.close()
                break
            await ws.send_str(_text_message("turn.end"))


@contextlib.asynccontextmanager
async def tcp_black_hole() -> AsyncIterator[str]:
    """A TCP port that accepts connections and never sends a byte."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep it open, say nothing

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/edge/v1?TrustedClientToken=test"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def refused_url() -> str:
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/edge/v1?TrustedClientToken=test"
