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


class ClipWriter:
    """An H.264 + AAC mp4 written frame by frame (RGB images, mono float audio), so that long clips
    never sit in memory. Audio and video both start at 0."""

    def __init__(self, path: Path | str, *, fps: int, sample_rate: int, crf: int = 20, preset: str = "veryfast") -> None:
        self.path = Path(path)
        self.fps, self.sample_rate = fps, sample_rate
        self._container = av.open(str(self.path), mode="w")
        self._video = self._container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": preset})
        self._video.pix_fmt = "yuv420p"
        self._sound = self._container.add_stream("aac", rate=sample_rate, layout="mono")
        self._size: tuple[int, int] | None = None
        self._pending = np.zeros(0, np.float32)
        self._audio_pts = 0
        self.frames = 0

    def add_image(self, image: Image) -> None:
        if self._size is None:
            height, width = image.shape[:2]
            self._size = (width - width % 2, height - height % 2)
            self._video.width, self._video.height = self._size
        width, height = self._size
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="rgb24")
        self._container.mux(self._video.encode(frame))
        self.frames += 1

    def add_audio(self, samples: Samples) -> None:
        self._pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).reshape(-1)])
        while len(self._pending) >= AAC_BLOCK:
            self._encode_audio(self._pending[:AAC_BLOCK])
            self._pending = self._pending[AAC_BLOCK:]

    def _encode_audio(self, chunk: Samples) -> None:
        audio_frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk)[None, :], format="fltp", layout="mono")
        audio_frame.sample_rate = self.sample_rate
        audio_frame.pts = self._audio_pts
        audio_frame.time_base = Fraction(1, self.sample_rate)
        self._container.mux(self._sound.encode(audio_frame))
        self._audio_pts += len(chunk)

    def close(self) -> Path:
        """Flush the encoders and finish the file (an error when no frame was added)."""
        try:
            if self._size is None:
                raise ValueError("no frames to write")
            self._container.mux(self._video.encode())
            if len(self._pending):
                self._encode_audio(self._pending)
                self._pending = np.zeros(0, np.float32)
            self._container.mux(self._sound.encode())
        finally:
            self._container.close()
        return self.path


AAC_BLOCK = 1024  # samples per AAC frame


def write_clip(path: Path | str, frames: Sequence[Image], audio: Samples, fps: int, sample_rate: int, *, crf: int = 20) -> Path:
    """Write ``frames`` (RGB, all the same size) and mono ``audio`` as H.264 + AAC in an mp4.

    Audio and video both start at 0; audio longer or shorter than the video is kept as it is.
    """
    if not frames:
        raise ValueError("no frames to write")
    writer = ClipWriter(path, fps=fps, sample_rate=sample_rate, crf=crf)
    for image in frames:
        writer.add_image(image)
    writer.add_audio(audio)
    return writer.close()


def write_frames(path: Path | str, frames: Sequence[VideoFrame]) -> Path:
    """Write rendered frames with the audio they carry."""
    if not frames:
        raise ValueError("no frames to write")
    fps = round(frames[0].sample_rate / len(frames[0].audio))
    audio = np.concatenate([f.audio for f in frames])
    return write_clip(path, [f.image for f in frames], audio, fps, frames[0].sample_rate)
