"""The renderer through the running server, on the CPU in real time (tiny models)."""
import numpy as np
import pytest

from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.render.base import Renderer
from avatar_runtime.render.musetalk.config import SAMPLES_PER_FRAME
from avatar_runtime.render.musetalk.prepare import PreparedAvatar
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.musetalk.server import MuseTalkServer

from .conftest import speech

pytestmark = pytest.mark.slow
# CPU renders are slow: wait for them rather than replace them, so every frame is checkable.
PATIENT = SessionSettings(max_wait=30.0, crossfade_frames=2)



async def _take(renderer: Renderer, count: int) -> list[VideoFrame]:
    frames = []
    async for frame in renderer.frames():
        frames.append(frame)
        if len(frames) == count:
            return frames
    return frames


async def _through_speech(renderer: Renderer, quiet: int = 4, limit: int = 250) -> list[VideoFrame]:
    """Frames until speech has come and gone (``quiet`` frames after the last speaking one)."""
    frames: list[VideoFrame] = []
    async for frame in renderer.frames():
        frames.append(frame)
        spoke = [i for i, f in enumerate(frames) if f.speaking]
        if (spoke and len(frames) - 1 - spoke[-1] >= quiet) or len(frames) == limit:
            break
    return frames


def _base(avatar: PreparedAvatar, frame: VideoFrame) -> np.ndarray:
    return avatar.frames[avatar.frame_index(round(frame.pts * 25))]


async def test_speech_frames_carry_the_audio_and_a_rendered_mouth(server: MuseTalkServer, avatar: PreparedAvatar) -> None:
    renderer: Renderer = MuseTalkRenderer(server, avatar, session_id="t1", settings=PATIENT)
    audio = speech(0.4)
    renderer.push_audio(audio, 16000)
    renderer.flush()
    frames = await _through_speech(renderer)
    await renderer.close()

    assert [round(f.pts * 25) for f in frames] == list(range(len(frames)))
    speaking = [f for f in frames if f.speaking]
    assert len(speaking) == 10
    played = np.concatenate([f.audio for f in speaking])
    assert np.array_equal(played[: len(audio)], audio) and not played[len(audio) :].any()
    assert all(not np.array_equal(f.image, _base(avatar, f)) for f in speaking)  # the mouth was rendered
    after = frames[round(speaking[-1].pts * 25) + 1 :]
    assert not after[0].speaking and not np.array_equal(after[0].image, _base(avatar, after[0]))  # fading out
    assert all(np.array_equal(f.image, _base(avatar, f)) for f in after[2:])  # then the idle loop
    assert all(not f.audio.any() for f in after)


async def test_silent_windows_skip_the_model(server: MuseTalkServer, avatar: PreparedAvatar) -> None:
    renderer = MuseTalkRenderer(server, avatar, session_id="t2", settings=PATIENT)
    audio = np.concatenate([speech(0.2), np.zeros(12 * SAMPLES_PER_FRAME, np.float32), speech(0.2, seed=1)])
    rendered_before = server.stats.rendered
    renderer.push_audio(audio, 16000)
    renderer.flush()
    frames = [f for f in await _through_speech(renderer) if f.speaking]
    await renderer.close()

    assert len(frames) == 22
    rendered = server.stats.rendered - rendered_before
    assert rendered < 22 - 4  # the middle of the pause went without the model
    middle = frames[11]
    assert not middle.audio.any() and np.array_equal(middle.image, _base(avatar, middle))


async def test_barge_in_drops_queued_speech_and_reports_what_played(server: MuseTalkServer, avatar: PreparedAvatar) -> None:
    renderer = MuseTalkRenderer(server, avatar, session_id="t3", settings=PATIENT)
    renderer.push_audio(speech(2.0), 16000)
    frames = []
    async for frame in renderer.frames():
        frames.append(frame)
        if sum(f.speaking for f in frames) == 5:
            break
    played = renderer.clear_buffer()
    later = await _take(renderer, 8)
    await renderer.close()

    assert played == pytest.approx(5 * 0.04)
    assert not any(f.audio.any() for f in later)
    assert np.array_equal(later[-1].image, _base(avatar, later[-1]))


async def test_audio_at_another_rate_is_resampled(server: MuseTalkServer, avatar: PreparedAvatar) -> None:
    renderer = MuseTalkRenderer(server, avatar, session_id="t4", settings=PATIENT)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(9600) / 24000)).astype(np.float32)  # 0.4 s at 24 kHz
    renderer.push_audio(tone[:5000], 24000)
    renderer.push_audio(tone[5000:], 24000)
    renderer.flush()
    frames = [f for f in await _through_speech(renderer) if f.speaking]
    await renderer.close()

    played = np.concatenate([f.audio for f in frames])
    expected = (0.3 * np.sin(2 * np.pi * 440 * np.arange(6400) / 16000)).astype(np.float32)
    assert len(frames) == 10 and np.abs(played[100:6300] - expected[100:6300]).max() < 1e-3
