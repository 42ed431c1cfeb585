"""A degraded session's media: fewer and smaller images, or none, and every frame's audio unchanged."""
import asyncio

import cv2
import numpy as np
import pytest

from avatar_runtime.capacity.degrade import Quality
from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.render.base import VideoRate
from avatar_runtime.render.portrait.clock import VirtualClock
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from avatar_runtime.worker.session_runner import SessionRunner
from tests.avatar_runtime.render.media import astronaut


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)


async def frames(renderer: PortraitRenderer, count: int) -> list[VideoFrame]:
    renderer.push_audio(tone(1.0), 16000)
    renderer.flush()
    stream = renderer.frames()
    out = [await anext(stream) for _ in range(count)]
    await renderer.close()
    return out


@pytest.mark.slow  # prepares the astronaut portrait
async def test_the_renderer_draws_fewer_images_or_none_and_the_audio_stays_the_same() -> None:
    avatar = astronaut()
    cpu = StageCpu()
    full = PortraitRenderer(avatar, clock=VirtualClock(), seed=1)
    reduced = PortraitRenderer(avatar, clock=VirtualClock(), seed=1, cpu=cpu)
    voice = PortraitRenderer(avatar, clock=VirtualClock(), seed=1)
    assert isinstance(reduced, VideoRate)
    reduced.video_every = 2
    voice.video_every = 0
    ours, halved, none = await asyncio.gather(frames(full, 20), frames(reduced, 20), frames(voice, 20))
    assert all(f.drawn for f in ours)
    assert [f.drawn for f in halved] == [k % 2 == 0 for k in range(20)]
    assert [f.drawn for f in none] == [True] + [False] * 19  # one image to show behind the captions
    for a, b, c in zip(ours, halved, none, strict=True):  # never the audio
        assert a.pts == b.pts == c.pts and np.array_equal(a.audio, b.audio) and np.array_equal(a.audio, c.audio)
        assert a.speaking == b.speaking == c.speaking
    assert any(f.speaking for f in ours)
    assert cpu.snapshot()["rendering"] > 0


class _Session:
    def __init__(self) -> None:
        self.session_id = "s"
        self.cpu = StageCpu()


def test_the_transport_sends_smaller_images_and_always_the_audio() -> None:
    image = np.full((512, 512, 3), 120, np.uint8)
    frame = VideoFrame(image, 0.04, tone(0.04), 16000, True)
    runner = SessionRunner(session=_Session(), layer=None, reply_channel="r", media="ws", worker_id="w")  # type: ignore[arg-type]
    full = runner._payload(frame, video=True)
    runner.quality = Quality.REDUCED_VIDEO
    reduced = runner._payload(frame, video=True)
    voice = runner._payload(frame, video=False)
    decoded = cv2.imdecode(np.frombuffer(reduced["video"], np.uint8), cv2.IMREAD_COLOR)  # type: ignore[arg-type]
    assert decoded.shape == (256, 256, 3) and len(reduced["video"]) < len(full["video"])  # type: ignore[arg-type]
    assert voice["video"] == b""
    assert full["audio"] == reduced["audio"] == voice["audio"] and len(voice["audio"]) == 640 * 2  # type: ignore[arg-type]
    used = runner.session.cpu.snapshot()
    assert used["encoding"] > 0 and used["transport"] > 0
