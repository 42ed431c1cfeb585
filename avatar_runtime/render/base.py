"""Renderers: audio in, timestamped frames out (audio is the master clock), like livekit's
avatar runner: ``push_audio`` / ``flush`` / ``clear_buffer`` and async iteration of frames.

A renderer emits frames continuously at ``fps``: speaking frames while it has audio, and an
idle loop (mouth closed, blinks, slight motion) otherwise. Each frame carries the slice of
audio that plays with it, so the transport never has to re-align the two.
"""
from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from avatar_runtime.pipeline.messages import Samples, VideoFrame

RENDER_FPS = 25
RENDER_SAMPLE_RATE = 16000

# What the conversation is doing, as the session tells the renderer (``set_state``): nobody there,
# the customer speaking (listening), end of turn until the first answer audio (thinking), answering.
AVATAR_STATES = ("idle", "listening", "thinking", "speaking")


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

    def set_state(self, state: str) -> None:
        """A hint for the face, one of ``AVATAR_STATES`` (attention while listening, a thinking look).
        Speech still drives the mouth; a renderer that draws no expressions ignores it."""
        return None


@runtime_checkable
class RendersAhead(Protocol):
    """A renderer that can replay frames rendered ahead for cached answer audio (MuseTalk: no GPU
    work when an FAQ answer plays from the answer audio cache)."""

    def prerendered(self, key: str) -> Any | None:
        """The frames rendered ahead for the cached audio ``key``, or None (blocking: a disk read)."""
        ...

    def play_prerendered(self, answer: Any, samples: Samples) -> None:
        """Speak ``samples`` (the whole cached audio, at ``sample_rate``) with those frames."""
        ...


@runtime_checkable
class VideoRate(Protocol):
    """A renderer that can draw fewer images (a session degraded under load, ``capacity.degrade``):
    a new image every ``video_every`` frames, none at 0; every frame keeps its audio."""

    video_every: int
