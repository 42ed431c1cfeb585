"""No server-side echo cancellation: the microphone passes through unchanged, and says why.

Used when WebRTC audio processing cannot load; the browser's own echo cancellation still runs,
and ``manage.py doctor`` reports the stage as degraded.
"""
from avatar_runtime.audio import as_samples
from avatar_runtime.pipeline.messages import Samples


class PassthroughEchoCanceller:
    name = "passthrough"

    def __init__(self, sample_rate: int = 16000, *, reason: str = "") -> None:
        self.sample_rate = sample_rate
        self.reason = reason

    def push_reference(self, samples: Samples) -> None:
        """The reference is of no use without a canceller."""

    def process(self, samples: Samples) -> Samples:
        return as_samples(samples)

    def follows_playback(self, seconds: float) -> bool:
        """Without the reference nothing is known: the transcript alone decides."""
        return False

    def reset(self) -> None:
        """Nothing is buffered."""
