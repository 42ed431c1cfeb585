"""The scorer matrix's separation summary: own audio (shifted) against every other clip's audio."""
import numpy as np

from avatar_runtime.qa.embedded import speech_envelope
from bench.qa_scorer_matrix import separation

SPF = 640


def babble(seed: int, frames: int = 150) -> np.ndarray:
    """Noise in syllable-like bursts of random length and loudness, at 16 kHz."""
    rng = np.random.default_rng(seed)
    gains = np.repeat(rng.choice([0.0, 0.05, 0.3, 1.0], size=frames // 3), 3)
    return (rng.standard_normal(frames * SPF) * np.repeat(gains, SPF)).astype(np.float32)


def test_lips_that_follow_their_own_audio_separate_from_other_audio() -> None:
    clips = {}
    for seed in range(4):
        audio = babble(seed)
        clips[f"clip-{seed}"] = (speech_envelope(audio, 16000, 25, len(audio) // SPF), audio)  # "lips" = loudness
    result = separation(clips)
    assert result["exact"] == 1.0 and result["k5"] == 1.0
    assert result["own_min"] > result["un_max"] and result["auc"] == 1.0
    assert result["un_med"] < 0.5 < result["own_med"]


def test_lips_that_do_not_follow_the_audio_do_not_separate() -> None:
    clips = {f"clip-{seed}": (speech_envelope(babble(seed + 10), 16000, 25, 150), babble(seed)) for seed in range(4)}
    result = separation(clips)
    assert result["own_min"] < result["un_max"] and 0.2 < result["auc"] < 0.8
