"""Cached answers on a MuseTalk worker: rendered ahead by the worker's background round, replayed when
the answer plays from the answer audio cache (no render work), dropped with the audio.

Real parts: the tiny MuseTalk server and renderer (``LiveMuseTalk``), the answer audio cache's
Django store and ``CachedSynthesizer``, the turn's ``_speak``. The session around the turn is a
light host with the few members a turn uses.
"""
import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import pytest
from asgiref.sync import sync_to_async

from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.pipeline.clock import RealClock
from avatar_runtime.pipeline.playback import Playback
from avatar_runtime.pipeline.turn import TurnContext, _speak
from avatar_runtime.render.musetalk.live import LiveMuseTalk
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer
from avatar_runtime.render.musetalk.weights import MuseTalkModels
from avatar_runtime.tts.answer_cache import CachedSynthesizer, speech_key
from avatar_runtime.tts.base import Voice
from avatar_runtime.tts.registry import synthesizer_for
from avatars.answer_audio import DjangoSpeechCache, answer_audio_sources, answer_audio_store

from .conftest import SMALL_PREPARE, portrait, speech

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
U = TypeVar("U")
VOICE = Voice(language="en", backend="espeak", name="en")
SENTENCE = "The toilets are on the second floor."


@dataclass
class Backends:
    renderer: MuseTalkRenderer


@dataclass
class Host:
    """What ``_speak`` uses of the session: its renderer, clock, CPU stages and events."""

    backends: Backends
    session_id: str = "s"
    clock: RealClock = field(default_factory=RealClock)
    cpu: StageCpu = field(default_factory=StageCpu)
    paused: bool = False
    spoke: int = 0

    async def counted(self, stream: AsyncIterator[U]) -> AsyncIterator[U]:
        async for item in stream:
            yield item

    def on_speaking(self) -> None:
        self.spoke += 1

    def _emit(self, event: dict[str, Any]) -> None:
        raise AssertionError(f"unexpected event {event}")


@pytest.fixture
def live(models: MuseTalkModels, tmp_path: Path, settings) -> Iterator[LiveMuseTalk]:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    live = LiveMuseTalk(models, cache_dir=tmp_path / "avatar-cache", prepare=SMALL_PREPARE)
    live.start(None)
    yield live
    live.stop()


def clip(tmp_path: Path) -> Path:
    path = tmp_path / "avatar.png"
    cv2.imwrite(str(path), cv2.cvtColor(portrait(), cv2.COLOR_RGB2BGR))
    return path


async def speak_cached(renderer: MuseTalkRenderer) -> tuple[Host, Playback, list[float]]:
    """Speak SENTENCE through the cache and take the renderer's frames until the answer has played."""
    host = Host(Backends(renderer))
    playback = Playback(renderer.sample_rate)
    ctx = TurnContext(session=host, conversation_id=uuid.uuid4(), writer=None, playback=playback,  # type: ignore[arg-type]
                      history=[], endpointing=None)
    synthesizer = CachedSynthesizer(synthesizer_for(VOICE, Path("var/models")), DjangoSpeechCache())
    await _speak(ctx, None, SENTENCE, synthesizer, VOICE)
    renderer.flush()
    levels = []
    async for frame in renderer.frames():
        if frame.speaking:
            levels.append(float(np.abs(frame.audio).max()))
        elif levels:
            break
    return host, playback, levels


async def test_a_cached_answer_plays_its_frames_rendered_ahead_and_they_go_with_its_audio(
        live: LiveMuseTalk, tmp_path: Path) -> None:
    audio = speech(0.6, seed=11)
    await sync_to_async(answer_audio_store)(voice=VOICE, text=SENTENCE, samples=audio, sample_rate=16000)
    key = speech_key(VOICE, SENTENCE)
    renderer = await asyncio.to_thread(live.renderer, clip(tmp_path), "s")
    assert renderer.prerendered(key) is None  # nothing rendered ahead yet: the answer renders live
    before = live.server.stats.rendered
    await speak_cached(renderer)
    deadline = time.monotonic() + 60  # on a busy CPU the batch may still be running
    while live.server.stats.rendered == before:
        assert time.monotonic() < deadline, "the answer was not rendered live"
        await asyncio.sleep(0.1)

    sources = sync_to_async(lambda: list(answer_audio_sources(16000)))
    found = await sources()
    assert await asyncio.to_thread(live.prerender, lambda: found) == (1, 0)  # idle GPU time, through the server
    assert renderer.prerendered(key) is not None and live.server.stats.idle_rendered > 0
    before = live.server.stats.rendered
    host, playback, levels = await speak_cached(renderer)
    assert live.server.stats.rendered == before  # replayed: no render work
    assert renderer.stats.replay_cpu_seconds > 0 and host.spoke == 1
    assert playback.total == len(audio) and len(levels) == len(audio) // 640  # every frame of the audio, with it
    await renderer.close()

    assert await asyncio.to_thread(live.prerender, lambda: []) == (0, 1)  # the audio left the cache: frames go too
    assert renderer.prerendered(key) is None


async def test_the_worker_renders_new_cached_answers_ahead_in_the_background(live: LiveMuseTalk, tmp_path: Path) -> None:
    renderer = await asyncio.to_thread(live.renderer, clip(tmp_path), "s")
    entries: list[tuple[str, Any]] = []
    live.start_prerendering(lambda: list(entries), every=0.05)
    entries.append(("a" * 64, lambda: speech(0.3, seed=2)))  # an answer enters the cache after the worker started
    deadline = time.monotonic() + 60
    while renderer.prerendered("a" * 64) is None:
        assert time.monotonic() < deadline, "never rendered ahead"
        await asyncio.sleep(0.05)
    await renderer.close()
