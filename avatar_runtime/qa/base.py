"""Lip-sync scoring of a rendered clip: how far the audio is from the lips, and how sure we are.

Sign convention (all scorers): ``offset_frames > 0`` means the audio is *later* than the video
(the sound of a syllable comes ``offset_frames`` frames after the lips make it); ``< 0``, the
audio is early. SyncNet's own tool prints the opposite sign; ``syncnet.py`` converts.
"""
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

MAX_OFFSET_FRAMES = 15  # offsets searched: -15 .. +15 frames (+-0.6 s at 25 fps)


@dataclass(frozen=True)
class SyncScore:
    scorer: str  # "embedded" or "syncnet"
    offset_frames: int  # > 0: audio later than video
    confidence: float  # how much the best offset stands out; compare with the scorer's threshold
    min_dist: float  # audio-visual distance at the best offset (lower is better)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class SyncScorer(Protocol):
    name: str
    confidence_threshold: float  # below this, the clip's audio and lips are not judged to belong together

    def score(self, clip_path: Path) -> SyncScore:
        """Score an mp4 (video + audio); raises ``ClipError`` when it cannot be scored."""
        ...
