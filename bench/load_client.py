"""One simulated kiosk for ``bench/load_kiosks.py``: the page's WebSocket media fallback, scripted.

It does what ``static/kiosk/kiosk.js`` does with ``?media=ws``: opens ``/ws/kiosk/`` with its
device cookie, waits for the session, asks for WebSocket media, streams the microphone as PCM16
mono 16 kHz in 100 ms messages in real time, taps the question's language, and receives frames
(JPEG) and audio (PCM16) stamped with the avatar's audio clock. It records what the page sees:
when the customer stopped speaking, when the answer's first audible audio arrived, every
frame's arrival against the slot the page would show it in, every error, when it was told the
machine is busy (no worker had room) and when it was served after all, and the quality steps
(reduced video, voice only) the worker took for it under load. Which questions each kiosk asks,
and how long its customer waits after each answer, are ``kiosk_questions`` and ``think_times``.
"""
import asyncio
import json
import random
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np

RATE = 16000
CHUNK = 1600  # 100 ms, as the page's AudioWorklet posts it
FPS = 25
PLAYOUT_DELAY = 0.15  # the page schedules media 150 ms after the first audio packet's arrival
AUDIBLE = 0.01  # RMS above which a received audio packet is the avatar speaking, not idle silence
_HEADER = struct.Struct("<Bd")
VIDEO, AUDIO = 1, 2
Question = tuple[str, np.ndarray]  # (language, 16 kHz samples)
LOCKSTEP_PAUSE = 0.5  # seconds every customer waits after an answer in ``--lockstep``
PING_EVERY = 10.0  # seconds between the page's pings (static/kiosk/kiosk.js, PING_EVERY_MS)
THINK_TIMES = (0.5, 2.5)  # seconds a customer of their own waits after an answer, least and most


@dataclass
class TurnResult:
    language: str
    speech_end: float  # wall time the last sample of the question left the "microphone"
    first_audio: float | None = None  # first audible answer audio received
    speaking_event: float | None = None
    customer_caption: float | None = None
    finished: bool = False

    @property
    def end_to_end(self) -> float | None:
        return None if self.first_audio is None else self.first_audio - self.speech_end


@dataclass
class KioskResult:
    name: str
    connected: bool = False
    ready_after: float | None = None  # seconds from connect to "session ready"
    turns: list[TurnResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    frames: int = 0
    late_frames: int = 0
    audio_packets: int = 0
    late_audio: int = 0  # audio packets arriving after their playout slot: a gap in the voice (underrun)
    media_window: float = 0.0  # seconds from the first frame to the last
    busy_after: float | None = None  # seconds from connect to the first "busy" (no worker had room)
    served_after_busy: float | None = None  # seconds from that "busy" to the session being ready
    quality_steps: list[str] = field(default_factory=list)  # levels, in order ("reduced_video", ...)

    @property
    def on_time_fps(self) -> float:
        return (self.frames - self.late_frames) / self.media_window if self.media_window > 1 else 0.0

    @property
    def expected_frames(self) -> int:
        return int(self.media_window * FPS) + 1


def kiosk_questions(recorded: list[Question], kiosk: int, count: int, *,
                    lockstep: bool) -> list[Question]:
    """Kiosk ``kiosk``'s ``count`` questions: the next ``count`` of ``recorded`` after the kiosks before
    it (so a round asks, in all, the questions the sweep's N=1 reference asks). Customers at
    neighbouring kiosks don't follow one script: unless ``lockstep``, kiosk i starts its own questions
    at its i-th, so side by side kiosks are not asking in the same language at the same moment."""
    picks = [recorded[(kiosk * count + j) % len(recorded)] for j in range(count)]
    shift = 0 if lockstep else kiosk % count
    return picks[shift:] + picks[:shift]


def think_times(kiosk: int, count: int, *, lockstep: bool) -> list[float]:
    """Seconds the customer at ``kiosk`` takes after each answer before asking again: 0.5-2.5 s
    (seeded per kiosk: the sweep's rounds and runs repeat them), or 0.5 s everywhere in ``lockstep``.
    With one fixed pause, kiosks whose questions and answers are as long end their questions
    within a second of each other turn after turn: a worst case, not three customers."""
    if lockstep:
        return [LOCKSTEP_PAUSE] * count
    rng = random.Random(1000 + kiosk)
    return [round(rng.uniform(*THINK_TIMES), 2) for _ in range(count)]


class SimulatedKiosk:
    def __init__(self, *, name: str, url: str, token: str, questions: list[Question], pauses: list[float],
                 turn_timeout: float = 45.0, ready_timeout: float = 60.0) -> None:
        self.result = KioskResult(name)
        self.url = url
        self.token = token
        self.questions = questions
        # Seconds the customer takes after each answer before the next question (the microphone hears silence).
        self.pauses = pauses
        self.turn_timeout = turn_timeout
        self.ready_timeout = ready_timeout  # a kiosk told "busy" waits this long to be served
        self._began = 0.0
        self._ready = asyncio.Event()
        self._state = "idle"
        self._state_changed = asyncio.Event()
        self._turn: TurnResult | None = None
        self._anchor: tuple[float, float] | None = None  # (pts, wall time it plays) of the page's media clock
        self._first_frame_at: float | None = None
        self._last_frame_at: float | None = None

    async def run(self) -> KioskResult:
        ws_url = self.url.replace("http", "ws", 1) + "/ws/kiosk/"
        headers = {"Origin": self.url, "Cookie": f"kiosk_device={self.token}"}
        began = self._began = time.monotonic()
        try:
            async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, headers=headers, max_msg_size=0,
                                                                        heartbeat=None) as ws:
                self.result.connected = True
                reader = asyncio.create_task(self._read(ws), name=f"{self.result.name}:read")
                pinger = asyncio.create_task(self._ping(ws), name=f"{self.result.name}:ping")
                try:
                    await asyncio.wait_for(self._ready.wait(), self.ready_timeout)
                    self.result.ready_after = time.monotonic() - began
                    await ws.send_str(json.dumps({"type": "media", "mode": "ws"}))
                    await self._converse(ws)
                finally:
                    reader.cancel()
                    pinger.cancel()
                    await asyncio.gather(reader, pinger, return_exceptions=True)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.result.errors.append(f"connection: {type(exc).__name__}: {exc}"[:200])
        if self._first_frame_at is not None and self._last_frame_at is not None:
            self.result.media_window = self._last_frame_at - self._first_frame_at
        return self.result

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The page's heartbeat: without it the server drops a kiosk that waits silently while busy."""
        while True:
            await asyncio.sleep(PING_EVERY)
            await ws.send_str(json.dumps({"type": "ping"}))

    # ----- microphone --------------------------------------------------------------------
    async def _stream(self, ws: aiohttp.ClientWebSocketResponse, samples: np.ndarray) -> float:
        """Send ``samples`` in real time; returns the wall time the last chunk was sent."""
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        began = time.monotonic()
        sent_at = began
        for index, start in enumerate(range(0, len(pcm), CHUNK * 2)):
            await asyncio.sleep(max(0.0, began + index * CHUNK / RATE - time.monotonic()))
            await ws.send_bytes(pcm[start:start + CHUNK * 2])
            sent_at = time.monotonic()
        return sent_at

    async def _silence(self, ws: aiohttp.ClientWebSocketResponse, seconds: float) -> None:
        await self._stream(ws, np.zeros(int(seconds * RATE), np.float32))

    async def _converse(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        await self._silence(ws, 1.0)
        for (language, audio), pause in zip(self.questions, self.pauses, strict=True):
            await ws.send_str(json.dumps({"type": "language", "language": language}))
            await self._silence(ws, 0.5)
            speech_end = await self._stream(ws, audio)
            turn = TurnResult(language, speech_end)
            self.result.turns.append(turn)
            self._turn = turn
            deadline = time.monotonic() + self.turn_timeout
            # Keep the microphone open (silence) until the avatar has answered and is listening again.
            while time.monotonic() < deadline and not turn.finished:
                await self._silence(ws, 0.2)
            if not turn.finished:
                self.result.errors.append(f"turn_timeout:{language}")
            self._turn = None
            await self._silence(ws, pause)

    # ----- what the page receives --------------------------------------------------------
    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            now = time.monotonic()
            if message.type == aiohttp.WSMsgType.TEXT:
                self._on_event(json.loads(message.data), now)
            elif message.type == aiohttp.WSMsgType.BINARY:
                self._on_media(message.data, now)
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                self.result.errors.append(f"closed:{ws.close_code}")
                return

    def _on_event(self, event: dict[str, Any], now: float) -> None:
        kind = event.get("type")
        turn = self._turn
        if kind == "session" and event.get("state") == "ready":
            if self.result.busy_after is not None and self.result.served_after_busy is None:
                self.result.served_after_busy = now - self._began - self.result.busy_after
            self._ready.set()
        elif kind == "busy" and self.result.busy_after is None:
            self.result.busy_after = now - self._began
        elif kind == "quality":
            self.result.quality_steps.append(str(event.get("level")))
        elif kind == "error":
            self.result.errors.append(f"error:{event.get('code')}")
        elif kind == "state":
            self._state = str(event.get("state"))
            if turn is not None and self._state == "speaking" and turn.speaking_event is None:
                turn.speaking_event = now
            if turn is not None and self._state == "listening" and turn.speaking_event is not None:
                turn.finished = True
        elif kind == "caption" and event.get("role") == "customer" and turn is not None:
            turn.customer_caption = turn.customer_caption or now
        elif kind == "flush":
            self._anchor = None  # the page drops its buffers and re-anchors on the next audio

    def _on_media(self, data: bytes, now: float) -> None:
        if len(data) < _HEADER.size:
            self.result.errors.append("bad_media")
            return
        kind, pts = _HEADER.unpack_from(data)
        if kind == AUDIO:
            if self._anchor is None or pts < self._anchor[0]:
                self._anchor = (pts, now + PLAYOUT_DELAY)
            self.result.audio_packets += 1
            if now > self._anchor[1] + (pts - self._anchor[0]):
                self.result.late_audio += 1
            turn = self._turn
            if turn is not None and turn.first_audio is None and now > turn.speech_end:
                samples = np.frombuffer(data[_HEADER.size:], dtype="<i2").astype(np.float32) / 32768
                if len(samples) and float(np.sqrt(np.mean(samples**2))) > AUDIBLE:
                    turn.first_audio = now
        elif kind == VIDEO:
            self.result.frames += 1
            self._first_frame_at = self._first_frame_at or now
            self._last_frame_at = now
            # The page shows a frame at its slot on the audio clock; one arriving after it is dropped.
            if self._anchor is not None and now > self._anchor[1] + (pts - self._anchor[0]):
                self.result.late_frames += 1
