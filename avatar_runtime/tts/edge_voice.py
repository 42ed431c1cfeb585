"""Microsoft Edge's online voices through ``edge-tts``, streamed and decoded as the MP3 arrives.

edge-tts sends 24 kHz MP3 in small WebSocket messages; each is decoded at once (PyAV) and
resampled to the pipeline's rate, so the first audio plays while the service is still
synthesising the rest of the sentence.

A network voice can fail in three ways, and each must be noticed fast enough that the offline
voice behind it (``FallbackSynthesizer``) takes over without a long silence:

- nothing listens (connection refused, no route, no DNS): fails at once;
- the service accepts the connection and then says nothing (a black hole): the *first-audio
  deadline* (``first_audio_s``, from the request to the first audio, covering connect, TLS,
  WebSocket handshake and the start of synthesis);
- audio starts and then stops (a stall) or the connection drops mid-sentence: the *stall
  deadline* (``stall_s``) between two audio messages, or the close itself.

All three raise a retryable ``ProviderError``; a voice name or rate/pitch that edge-tts refuses
raises a permanent one.

The endpoint is edge-tts's own (``edge_tts.constants.WSS_URL``) unless ``EdgeConfig.endpoint``
(setting ``EDGE_TTS_URL``) names another, e.g. a relay inside the venue's network or a local test
server. edge-tts builds its URL from a module constant, so the override is process-wide: every
``EdgeSynthesizer`` of one process must use the same endpoint.
"""
import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import edge_tts
import edge_tts.communicate
import numpy as np
from edge_tts.exceptions import NoAudioReceived

from avatar_runtime.errors import ProviderError
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.pipeline.tasks import TaskOwner
from avatar_runtime.render.base import RENDER_SAMPLE_RATE
from avatar_runtime.tts.base import SpeechChunk, Voice
from avatar_runtime.tts.mp3_stream import Mp3StreamDecoder
from avatar_runtime.tts.streaming import chunks_of

EDGE_DEFAULT_VOICES: dict[str, str] = {
    "zh": "zh-CN-XiaoxiaoNeural",
    "yue": "zh-HK-HiuMaanNeural",
    "en": "en-US-JennyNeural",
    "ja": "ja-JP-NanamiNeural",
    "ko": "ko-KR-SunHiNeural",
}
# edge-tts takes pitch in Hz; Voice.pitch is in semitones. The default voices are all female,
# speaking around 200 Hz, so a semitone is converted at that base frequency.
PITCH_BASE_HZ = 200.0
# Decoded audio is handed on in pieces of at least this much (one MP3 frame is 24 ms): fewer,
# larger chunks for the renderer without holding the first audio back noticeably.
MIN_CHUNK_S = 0.1
_SERVICE_URL = edge_tts.communicate.WSS_URL


@dataclass(frozen=True)
class EdgeConfig:
    endpoint: str = ""  # "" = edge-tts's own service
    first_audio_s: float = 0.8
    stall_s: float = 0.8
    sample_rate: int = RENDER_SAMPLE_RATE

    @classmethod
    def from_settings(cls) -> "EdgeConfig":
        """``EDGE_TTS_URL``, ``EDGE_TTS_FIRST_AUDIO_TIMEOUT``, ``EDGE_TTS_STALL_TIMEOUT`` (seconds)."""
        from django.conf import settings

        defaults = cls()
        return cls(
            endpoint=getattr(settings, "EDGE_TTS_URL", defaults.endpoint),
            first_audio_s=getattr(settings, "EDGE_TTS_FIRST_AUDIO_TIMEOUT", defaults.first_audio_s),
            stall_s=getattr(settings, "EDGE_TTS_STALL_TIMEOUT", defaults.stall_s),
        )


def edge_rate(rate: float) -> str:
    """``Voice.rate`` (1.0 = normal) as edge-tts's ``"+N%"``."""
    return f"{round((rate - 1.0) * 100):+d}%"


def edge_pitch(semitones: float) -> str:
    """``Voice.pitch`` (semitones) as edge-tts's ``"+NHz"``."""
    return f"{round(PITCH_BASE_HZ * (2 ** (semitones / 12) - 1)):+d}Hz"


def _use_endpoint(endpoint: str) -> None:
    url = endpoint or _SERVICE_URL
    if "?" not in url:  # edge-tts appends "&ConnectionId=...": the URL needs a query already
        url += "?TrustedClientToken=" + edge_tts.constants.TRUSTED_CLIENT_TOKEN
    edge_tts.communicate.WSS_URL = url


class _End:
    """The stream's end marker; ``complete`` is False when the service closed without ``turn.end``."""

    def __init__(self, complete: bool) -> None:
        self.complete = complete


# The WebSocket reader of each synthesis runs as its own task, so a deadline can give up on it at
# once: closing a WebSocket whose peer went silent waits for aiohttp's close timeout (10 s).
_streams = TaskOwner("edge-tts")


class EdgeSynthesizer:
    name = "edge"

    def __init__(self, config: EdgeConfig | None = None) -> None:
        self.config = config or EdgeConfig.from_settings()

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        config = self.config
        try:
            communicate = edge_tts.Communicate(
                text, voice.name, rate=edge_rate(voice.rate), pitch=edge_pitch(voice.pitch),
                connect_timeout=max(1, math.ceil(config.first_audio_s)), receive_timeout=max(1, math.ceil(config.stall_s)),
            )
        except (TypeError, ValueError) as exc:
            raise ProviderError(self.name, f"edge-tts refuses the voice settings: {exc}", retryable=False) from exc
        _use_endpoint(config.endpoint)
        decoder = Mp3StreamDecoder(config.sample_rate, provider=self.name)
        min_samples = int(MIN_CHUNK_S * config.sample_rate)
        pending: list[Samples] = []
        queue: asyncio.Queue[bytes | _End | BaseException] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        first_audio_by = loop.time() + config.first_audio_s
        got_audio = False
        reader = _streams.spawn(_read(communicate, queue), f"synthesize {voice.language}")
        try:
            while True:
                wait = config.stall_s if got_audio else max(0.0, first_audio_by - loop.time())
                try:
                    async with asyncio.timeout(wait):
                        item = await queue.get()
                except TimeoutError:
                    what = f"audio stalled for {config.stall_s:.2f} s" if got_audio else \
                        f"no audio within {config.first_audio_s:.2f} s"
                    raise ProviderError(self.name, what, retryable=True) from None
                if isinstance(item, _End):
                    if not item.complete:
                        raise ProviderError(self.name, "the connection closed mid-sentence", retryable=True)
                    break
                if isinstance(item, BaseException):
                    raise _provider_error(item) from item
                got_audio = True
                pending.append(decoder.feed(item))
                if sum(len(p) for p in pending) >= min_samples:
                    for chunk in chunks_of(np.concatenate(pending), config.sample_rate):
                        yield chunk
                    pending.clear()
        finally:
            reader.cancel()
            await asyncio.wait({reader}, timeout=0.1)  # the owner logs it if it ever fails later
        pending.append(decoder.flush())
        tail = np.concatenate(pending)
        for chunk in chunks_of(tail, config.sample_rate):
            yield chunk


async def _read(communicate: edge_tts.Communicate, queue: "asyncio.Queue[bytes | _End | BaseException]") -> None:
    """Put the audio of ``communicate`` on ``queue``, then an ``_End`` (or the exception that ended it)."""
    try:
        async for message in communicate.stream():
            if message["type"] == "audio":
                queue.put_nowait(message["data"])
        # edge-tts ends quietly when the socket closes; only ``turn.end`` resets its byte count.
        queue.put_nowait(_End(complete=communicate.state["chunk_audio_bytes"] == 0))
    except Exception as exc:  # noqa: BLE001 - handed to the consumer, which maps it
        queue.put_nowait(exc)


def _provider_error(exc: BaseException) -> ProviderError:
    if isinstance(exc, NoAudioReceived):
        return ProviderError("edge", "the service sent no audio (closed early, or an unknown voice)", retryable=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ProviderError("edge", f"cannot connect to {exc.host}:{exc.port} ({exc.strerror or exc.os_error})",
                             retryable=True)
    if isinstance(exc, aiohttp.WSServerHandshakeError | aiohttp.ClientResponseError):
        return ProviderError("edge", f"refused by the service (HTTP {exc.status})", retryable=True)
    return ProviderError("edge", f"{type(exc).__name__}: {exc}", retryable=True)
