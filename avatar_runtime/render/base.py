"""Renderers: audio in, timestamped frames out (audio is the master clock), like livekit's
avatar runner: ``push_audio`` / ``flush`` / ``clear_buffer`` and async iteration of frames.

A renderer emits frames continuously at ``fps``: speaking frames while it has audio, and an
idle loop (mouth closed, blinks, slight motion) otherwise. Each frame carries the slice of
audio that plays with it, so the transport never has to re-align the two.
"""
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from avatar_runtime.pipeline.messages import Samples, VideoFrame

RENDER_FPS = 25
RENDER_SAMPLE_RATE = 16000


class Renderer(Protocol):
    name: str
    fps: int
    sample_rate: int

    def push_audio(self, samples: Samples, sample_rate: int) -> None:
        """Queue speech to be rendered; resampled to ``sample_rate`` if needed."""
        ...

    def flush(self) -> None:
        """The current utterance is complete: render what is queued, then go idle."""
        ...

    def clear_buffer(self) -> float:
        """Barge-in: drop all queued audio at once; return seconds of speech actually played."""
        ...

    def frames(self) -> AsyncIterator[VideoFrame]:
        """Frames paced in real time (``fps``), forever, until ``close``."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class VideoRate(Protocol):
    """A renderer that can draw fewer images (a session degraded under load, ``capacity.degrade``):
    a new image every ``video_every`` frames, none at 0; every frame keeps its audio."""

    video_every: int
