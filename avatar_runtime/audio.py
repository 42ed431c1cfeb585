"""Audio helpers shared by the speech stages: resampling, PCM16 conversion, chunking, WAV files.

Audio inside the runtime is float32 mono in [-1, 1] (``Samples``); PCM16 appears only at the
edges (transports, subprocesses, WebRTC audio processing).
"""
from collections.abc import Iterator
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
from scipy.signal import firwin, resample_poly

from avatar_runtime.pipeline.messages import Samples

PCM16_SCALE = 32768.0


def as_samples(audio: npt.ArrayLike) -> Samples:
    """Any 1-D array-like of floats as contiguous float32 ``Samples`` (no copy when already so)."""
    return np.ascontiguousarray(np.asarray(audio, dtype=np.float32).reshape(-1))


def resample(samples: Samples, src: int, dst: int) -> Samples:
    """Polyphase resampling (anti-aliased, Kaiser window) from ``src`` Hz to ``dst`` Hz."""
    if src <= 0 or dst <= 0:
        raise ValueError(f"sample rates must be positive, got {src} -> {dst}")
    samples = as_samples(samples)
    if src == dst or samples.size == 0:
        return samples
    divisor = gcd(src, dst)
    up, down = dst // divisor, src // divisor
    return as_samples(resample_poly(samples, up, down, window=_anti_alias_filter(up, down)))


@lru_cache(maxsize=32)  # bounded: an uploaded recording may bring any sample rate
def _anti_alias_filter(up: int, down: int) -> Samples:
    """The low-pass filter ``resample_poly`` designs for its default Kaiser window, designed once per
    rate pair: the media path resamples every 20 ms packet on the event loop, and the design took
    two thirds of each call (131 against 40 us for a packet of 960 samples)."""
    max_rate = max(up, down)
    taps = firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0)).astype(np.float32)
    taps.flags.writeable = False  # shared by every call (resample_poly copies it)
    return taps


def to_pcm16(samples: Samples) -> npt.NDArray[np.int16]:
    """Float samples to 16-bit PCM, clipping what does not fit."""
    scaled = np.clip(as_samples(samples) * PCM16_SCALE, -PCM16_SCALE, PCM16_SCALE - 1)
    return np.round(scaled).astype(np.int16)


def from_pcm16(data: bytes | bytearray | memoryview | npt.NDArray[np.int16]) -> Samples:
    """16-bit little-endian PCM (bytes or an int16 array) to float samples."""
    pcm = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype="<i2")
    return (pcm.astype(np.float32) / PCM16_SCALE).reshape(-1)


def split(samples: Samples, size: int) -> Iterator[Samples]:
    """Consecutive pieces of at most ``size`` samples (views, not copies)."""
    if size <= 0:
        raise ValueError("size must be positive")
    for start in range(0, len(samples), size):
        yield samples[start : start + size]


def _loud_span(samples: Samples, threshold: float) -> tuple[int, int] | None:
    """Indices of the first and the last sample louder than ``threshold`` (None if none is)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return (int(loud[0]), int(loud[-1])) if len(loud) else None


def without_leading_silence(samples: Samples, rate: int, threshold: float = 0.01, pad_s: float = 0.01) -> Samples:
    """``samples`` from ``pad_s`` before the first one louder than ``threshold`` (empty if none is)."""
    span = _loud_span(samples, threshold)
    if span is None:
        return samples[:0]
    return samples[max(0, span[0] - int(pad_s * rate)):]


def without_silent_ends(samples: Samples, rate: int, threshold: float = 0.01, pad_s: float = 0.03) -> Samples:
    """``samples`` from ``pad_s`` before the first one louder than ``threshold`` to ``pad_s`` after
    the last; all of them if none is (a silent piece keeps its length)."""
    span = _loud_span(samples, threshold)
    if span is None:
        return samples
    pad = int(pad_s * rate)
    return samples[max(0, span[0] - pad):span[1] + pad]


def voiced_sound(seconds: float, rate: int) -> Samples:
    """A speech-like sound at a speaking level (harmonics of 120 Hz in 4 Hz syllables): loud
    enough that a recogniser runs its model on it, unlike silence."""
    t = np.arange(int(seconds * rate)) / rate
    harmonics = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 8))
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    return (0.05 * harmonics * syllables).astype(np.float32)


def rms(samples: Samples) -> float:
    """Root-mean-square level (0.0 for no samples)."""
    if len(samples) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def levels(samples: Samples, window: int) -> npt.NDArray[np.float64]:
    """RMS level of each whole ``window`` of samples (a trailing partial window is left out)."""
    whole = samples[: len(samples) // window * window].reshape(-1, window)
    return np.sqrt(np.mean(np.square(whole, dtype=np.float64), axis=1))


def rms_dbfs(samples: Samples) -> float:
    """Root-mean-square level in dB relative to full scale; -inf-safe (floor at -200 dB)."""
    if len(samples) == 0:
        return -200.0
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return 10.0 * float(np.log10(max(power, 1e-20)))


def read_wav(path: Path) -> tuple[Samples, int]:
    """A sound file as mono float samples (channels averaged) and its sample rate."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return as_samples(data.mean(axis=1)), int(rate)


def write_wav(path: Path, samples: Samples, sample_rate: int) -> None:
    """Mono 16-bit PCM WAV."""
    sf.write(str(path), to_pcm16(samples), sample_rate, subtype="PCM_16")
