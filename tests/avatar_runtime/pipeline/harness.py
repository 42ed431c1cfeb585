"""A kiosk session on real offline backends, driven on a scripted virtual timeline.

Real parts throughout: Silero VAD, Whisper ASR, the knowledge base's hybrid search over the
demo FAQs, the extractive answerer, offline voices, the portrait renderer, the Django
transcript store. Only time is virtual: the test advances it, so a 10-second conversation runs
in a few seconds, and every timing the session reports is measured on that timeline.
"""
import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from channels.db import database_sync_to_async
from django.conf import settings

from avatar_runtime.asr.language_policy import LanguagePolicy
from avatar_runtime.factory import VoiceBook, recognizer
from avatar_runtime.llm.base import Retrieved
from avatar_runtime.llm.extractive import ExtractiveAnswerer
from avatar_runtime.pipeline.clock import VirtualClock, settle
from avatar_runtime.pipeline.messages import Samples, VideoFrame
from avatar_runtime.pipeline.session import ConversationSession, State
from avatar_runtime.pipeline.session_config import SessionBackends, SessionConfig
from avatar_runtime.pipeline.tasks import TaskOwner
from avatar_runtime.render.portrait.prepare import PortraitAvatar, prepare_portrait
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from avatar_runtime.vad.silero import SileroVadStream
from avatars.voices import voice_book_from_settings
from common.languages import KIOSK_LANGUAGES
from conversations.transcript_store import DjangoTranscriptStore
from knowledgebase.runtime_retrieval import retrieve

CHUNK = 512  # 32 ms at 16 kHz, what a browser worklet would send


@functools.cache
def astronaut_portrait() -> PortraitAvatar:
    from io import BytesIO

    from PIL import Image
    from skimage import data

    buffer = BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return prepare_portrait(buffer.getvalue(), cache_dir=Path(settings.MEDIA_ROOT) / "avatar-cache")


@dataclass
class Timeline:
    session: ConversationSession
    clock: VirtualClock
    frames: list[VideoFrame] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)
    owner: TaskOwner = field(default_factory=lambda: TaskOwner("test timeline"))

    async def start(self) -> None:
        await self.session.start()
        self.owner.spawn(self._collect_frames(), "frames")

    async def _collect_frames(self) -> None:
        async for frame in self.session.frames():
            self.frames.append(frame)

    async def advance(self, seconds: float) -> None:
        """Move virtual time on, then wait (in real time) until the renderer has drawn its frames."""
        await self.clock.advance(seconds)
        due = int(self.clock.now() * 25) - 1
        deadline = time.monotonic() + 10
        while len(self.frames) < due and time.monotonic() < deadline:
            await asyncio.sleep(0.001)

    def drain_events(self) -> list[dict[str, object]]:
        while not self.session.events.empty():
            self.events.append(self.session.events.get_nowait())
        return self.events

    async def speak(self, samples: Samples) -> None:
        """Play ``samples`` into the microphone in real-time-sized chunks on the virtual clock."""
        for start in range(0, len(samples), CHUNK):
            while self.session.blocking:
                await asyncio.sleep(0.002)
            chunk = samples[start:start + CHUNK]
            self.session.push_audio(chunk)
            await self.advance(len(chunk) / 16000)
        self.drain_events()

    async def silence(self, seconds: float) -> None:
        await self.speak(np.zeros(int(seconds * 16000), np.float32))

    async def run_until(self, condition: Callable[[], bool], limit: float = 60.0, step: float = 0.04) -> None:
        """Advance virtual time (feeding mic silence) until ``condition``.

        Time stands still while the session's blocking work (ASR, retrieval, synthesis) runs in
        its threads, as if the machine were infinitely fast: the timeline is deterministic.
        ``limit`` bounds virtual time; a real-time bound catches a hung thread.
        """
        waited = 0.0
        deadline = time.monotonic() + 180
        while not condition():
            if waited > limit or time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {limit}s of virtual time")
            if self.session.blocking:
                await asyncio.sleep(0.002)
                continue
            self.session.push_audio(np.zeros(int(step * 16000), np.float32))
            await self.advance(step)
            waited += step
            self.drain_events()

    async def until_state(self, state: State, limit: float = 60.0) -> None:
        await self.run_until(lambda: self.session.state == state, limit)

    def speaking_audio(self) -> Samples:
        """The avatar's voice so far (its answers, without the silence of idle frames)."""
        parts = [f.audio for f in self.frames if f.speaking]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def played_audio(self) -> Samples:
        """What the speaker has played so far: every frame's audio, the silence of idle frames
        included (a slow voice leaves idle frames between sentences)."""
        parts = [f.audio for f in self.frames]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    async def close(self) -> None:
        await self.owner.cancel_all()
        await self.session.close()
        await settle()


@dataclass
class EchoingMicrophone:
    """The kiosk's microphone in a room where the speaker plays the avatar: it hears what was
    played ``delay`` seconds later at ``gain`` (-12 dB), plus a customer once one starts talking.

    It runs on the speaker's clock: each ``listen`` hears exactly the audio played since the
    last one, and nothing when no frame was played, so the echo stays ``delay`` behind the
    echo canceller's reference however unevenly a busy machine draws the frames. (Padding the
    gaps with silence instead would add 40 ms of delay at each one.)"""

    timeline: Timeline
    heard: int  # samples of the played audio heard so far
    delay: float = 0.06
    gain: float = 0.25
    customer: Samples | None = None
    customer_from: int = 0

    @classmethod
    def from_answer_start(cls, timeline: Timeline) -> "EchoingMicrophone":
        return cls(timeline, heard=len(timeline.played_audio()) - len(timeline.speaking_audio()))

    def customer_says(self, samples: Samples) -> None:
        self.customer, self.customer_from = samples, self.heard

    @property
    def customer_finished(self) -> bool:
        return self.customer is not None and self.heard - self.customer_from >= len(self.customer)

    def listen(self) -> None:
        played = self.timeline.played_audio()
        start, end = self.heard, len(played)
        if end <= start:
            return
        positions = np.arange(start, end)
        mic = np.zeros(end - start, np.float32)
        source = positions - int(self.delay * 16000)
        mic[source >= 0] = self.gain * played[source[source >= 0]]
        if self.customer is not None:
            offset = positions - self.customer_from
            inside = (offset >= 0) & (offset < len(self.customer))
            mic[inside] += self.customer[offset[inside]]
        self.heard = end
        self.timeline.session.push_audio(mic)

    async def listen_while(self, condition: Callable[[], bool]) -> None:
        while condition():
            self.listen()
            await self.timeline.advance(0.04)
            while self.timeline.session.blocking:
                await asyncio.sleep(0.002)
            self.timeline.drain_events()


async def build_session(
    *,
    kiosk_id: int | None = None,
    default_language: str = "en",
    voices: VoiceBook | None = None,
    retrieve_fn: Callable[[str, str, int], Retrieved] = retrieve,
    recognizer_override: object | None = None,
    aec: object | None = None,
) -> Timeline:
    clock = VirtualClock()
    if voices is None:
        voices = await database_sync_to_async(voice_book_from_settings)()
    backends = SessionBackends(
        vad=SileroVadStream(),
        recognizer=recognizer_override or recognizer(),  # type: ignore[arg-type]
        retrieve=retrieve_fn,
        answerer=ExtractiveAnswerer(),
        voices=voices,
        renderer=PortraitRenderer(astronaut_portrait(), clock=clock, seed=7),
        language_policy=LanguagePolicy(default_language, list(KIOSK_LANGUAGES)),
        aec=aec,  # type: ignore[arg-type]
    )
    config = SessionConfig(languages=list(KIOSK_LANGUAGES), default_language=default_language, idle_timeout=30.0)
    session = ConversationSession(session_id="test", kiosk_id=kiosk_id, config=config, backends=backends,
                                  store=DjangoTranscriptStore(kiosk_id), clock=clock)
    return Timeline(session, clock)
