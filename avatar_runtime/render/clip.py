"""Rendered speech as a file: frames + audio to an H.264/AAC mp4, and offline (not real-time) rendering.

Used by the CLI, lip-sync QA and tests; the kiosk itself streams frames and never writes files.
"""
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from avatar_runtime.pipeline.messages import Image, Samples, VideoFrame
from avatar_runtime.render.portrait.clock import VirtualClock
from avatar_runtime.render.portrait.prepare import PortraitAvatar
from avatar_runtime.render.portrait.renderer import PortraitRenderer

MAX_OFFLINE_SECONDS = 600.0


class OfflineRenderer(Protocol):
    fps: int
    sample_rate: int

    def push_audio(self, samples: Samples, sample_rate: int) -> None: ...

    def flush(self) -> None: ...

    def render_next(self) -> VideoFrame: ...


def render_offline(
    renderer: OfflineRenderer | PortraitAvatar, samples: Samples, sample_rate: int, *, tail_s: float = 0.4, seed: int = 0
) -> list[VideoFrame]:
    """Render one utterance as fast as possible: its speaking frames, then ``tail_s`` of idle.

    Given a prepared avatar, a portrait renderer on a virtual clock is made for it (``seed``
    fixes blinks and head motion).
    """
    if isinstance(renderer, PortraitAvatar):
        renderer = PortraitRenderer(renderer, clock=VirtualClock(), seed=seed)
    if len(samples) / sample_rate > MAX_OFFLINE_SECONDS:
        raise ValueError(f"refusing to render more than {MAX_OFFLINE_SECONDS:.0f} s offline")
    renderer.push_audio(samples, sample_rate)
    renderer.flush()
    frames: list[VideoFrame] = []
    while True:
        frame = renderer.render_next()
        frames.append(frame)
        if not frame.speaking:
            break
    frames.extend(renderer.render_next() for _ in range(max(0, round(tail_s * renderer.fps) - 1)))
    return frames


def write_clip(path: Path | str, frames: Sequence[Image], audio: Samples, fps: int, sample_rate: int, *, crf: int = 20) -> Path:
    """Write ``frames`` (RGB, all the same size) and mono ``audio`` as H.264 + AAC in an mp4.

    Audio and video both start at 0; audio longer or shorter than the video is kept as it is.
    """
    path = Path(path)
    if not frames:
        raise ValueError("no frames to write")
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "veryfast"})
        video.width, video.height = width - width % 2, height - height % 2
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=sample_rate, layout="mono")
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: video.height, : video.width]), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode())
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        block = 1024  # AAC frame size
        for start in range(0, len(samples), block):
            chunk = samples[start : start + block]
            audio_frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            audio_frame.sample_rate = sample_rate
            audio_frame.pts = start
            audio_frame.time_base = Fraction(1, sample_rate)
            container.mux(sound.encode(audio_frame))
        container.mux(sound.encode())
    return path


def write_frames(path: Path | str, frames: Sequence[VideoFrame]) -> Path:
    """Write rendered frames with the audio they carry."""
    if not frames:
        raise ValueError("no frames to write")
    fps = round(frames[0].sample_rate / len(frames[0].audio))
    audio = np.concatenate([f.audio for f in frames])
    return write_clip(path, [f.image for f in frames], audio, fps, frames[0].sample_rate)
