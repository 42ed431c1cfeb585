"""Portrait-rendered test clips with known audio shifts."""
import functools

import numpy as np
from scipy.signal import resample_poly

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.clip import render_offline
from tests.avatar_runtime.render.media import astronaut, speech

SPF = 640  # samples per frame: 16 kHz at 25 fps


@functools.cache
def rendered(name: str) -> tuple[list[Image], np.ndarray]:
    """The astronaut saying ``media.SENTENCES[name]``: frames and 16 kHz audio, in sync."""
    samples, rate = speech(name)
    frames = render_offline(astronaut(), resample_poly(samples, 16000 // 50, rate // 50).astype(np.float32), 16000, tail_s=0.4)
    return [f.image for f in frames], np.concatenate([f.audio for f in frames])


def shifted(audio: np.ndarray, k: int, frames: int) -> np.ndarray:
    """``audio`` delayed by ``k`` frames (advanced when negative), cut or padded to ``frames``."""
    moved = np.concatenate([np.zeros(k * SPF, np.float32), audio]) if k >= 0 else audio[-k * SPF :]
    out = np.zeros(frames * SPF, np.float32)
    out[: min(len(moved), len(out))] = moved[: len(out)]
    return out
