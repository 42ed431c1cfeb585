"""Shared audio helpers: resampling keeps the signal, PCM16 round-trips and clips."""
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from avatar_runtime.audio import (
    from_pcm16,
    read_wav,
    resample,
    rms_dbfs,
    to_pcm16,
    without_leading_silence,
    without_silent_ends,
    write_wav,
)


def tone(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize(("src", "dst"), [(48000, 16000), (22050, 16000), (24000, 16000), (16000, 48000)])
def test_resample_keeps_frequency_and_level(src: int, dst: int) -> None:
    out = resample(tone(440.0, src), src, dst)
    assert out.dtype == np.float32
    assert len(out) == dst
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) * dst / len(out) == pytest.approx(440.0, abs=2.0)
    assert rms_dbfs(out[1000:-1000]) == pytest.approx(rms_dbfs(tone(440.0, src)), abs=0.2)


def test_resample_removes_what_the_target_rate_cannot_carry() -> None:
    out = resample(tone(12000.0, 48000), 48000, 16000)  # above the 8 kHz Nyquist of 16 kHz
    assert rms_dbfs(out[1000:-1000]) < -50.0


@pytest.mark.parametrize(("src", "dst"), [(48000, 16000), (24000, 48000), (44100, 48000)])
def test_the_cached_filter_is_the_one_scipy_would_design(src: int, dst: int) -> None:
    packet = np.random.default_rng(3).standard_normal(960).astype(np.float32)  # 20 ms at 48 kHz
    divisor = math.gcd(src, dst)
    expected = resample_poly(packet, dst // divisor, src // divisor)  # designs its filter on every call
    for _ in range(2):  # the first call designs the filter, the second reuses it
        assert np.array_equal(resample(packet, src, dst), expected)


def test_pcm16_round_trip_and_clipping() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.5, -1.5], dtype=np.float32)
    pcm = to_pcm16(samples)
    assert pcm.tolist() == [0, 16384, -16384, 32767, -32768]
    assert np.allclose(from_pcm16(pcm.tobytes()), [0.0, 0.5, -0.5, 32767 / 32768, -1.0])


def test_wav_round_trip(tmp_path: Path) -> None:
    samples = tone(300.0, 16000, 0.25)
    write_wav(tmp_path / "a.wav", samples, 16000)
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == 16000
    assert np.max(np.abs(back - samples)) < 1e-4


def test_without_leading_silence_keeps_a_short_pad_before_the_first_sound() -> None:
    sound = np.concatenate([np.zeros(640, np.float32), np.full(160, 0.2, np.float32), np.zeros(320, np.float32)])
    trimmed = without_leading_silence(sound, 16000, pad_s=0.01)
    assert len(trimmed) == 160 + 160 + 320  # 10 ms of the silence, the sound, the rest untouched
    assert trimmed[160] == np.float32(0.2)
    assert len(without_leading_silence(np.zeros(800, np.float32), 16000)) == 0


def test_without_silent_ends_keeps_a_short_pad_on_both_sides_and_silence_as_it_is() -> None:
    sound = np.concatenate([np.zeros(640, np.float32), np.full(160, 0.2, np.float32), np.zeros(640, np.float32)])
    trimmed = without_silent_ends(sound, 16000, pad_s=0.01)
    assert len(trimmed) == 160 + 160 + 159  # 10 ms before the sound, the sound, 10 ms after its last sample
    assert trimmed[160] == np.float32(0.2) and trimmed[-1] == 0
    assert len(without_silent_ends(np.zeros(800, np.float32), 16000)) == 800
