"""Acoustic echo cancellation: remove the avatar's own voice from the microphone signal."""
from typing import Protocol

from avatar_runtime.pipeline.messages import Samples


class EchoCanceller(Protocol):
    name: str
    sample_rate: int

    def push_reference(self, samples: Samples) -> None:
        """Audio the kiosk is playing right now (far end), at ``sample_rate``."""
        ...

    def process(self, samples: Samples) -> Samples:
        """Microphone audio (near end) at ``sample_rate``; returns it with the echo removed."""
        ...

    def follows_playback(self, seconds: float) -> bool:
        """Whether the microphone over the last ``seconds`` rose and fell with what was played
        (the avatar's own voice), as far as this canceller can tell."""
        ...

    def reset(self) -> None: ...
