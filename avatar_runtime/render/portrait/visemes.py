"""Mouth shapes from the sound itself: jaw opening, lip width and lip closure per 40 ms frame.

No weights and no phonemes, so it works for every voice and language. Per analysis window:

- **Loudness**, against the utterance's own recent peak, sets how far the jaw can open.
- **Vowel quality from formants** (LPC): the first formant rises as the jaw opens (a > e, o > i, u),
  the second falls as the lips round (o, u) and rises as they spread (i, e). Both are read relative
  to a running average of the voice, so a child, a woman and a man map alike.
- **Bilabial closures** from the energy envelope: a dip inside speech (the silence of a stop) that
  ends, within 80 ms, in a burst with little energy above 1.2 kHz (p, b; t, d, k, g burst higher)
  presses the lips together. An m has no such dip and the sound alone barely tells it from n, so
  it is left to the jaw.

Each frame looks a little ahead (lips move before the sound they make) and each parameter is
smoothed with its own attack and release, which also blends neighbouring sounds (coarticulation).
"""
import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_toeplitz

from avatar_runtime.pipeline.messages import Samples

LOOKAHEAD_S = 0.02
WINDOW_S = 0.05
SILENCE_DB = -55.0  # below this (dBFS), the mouth closes whatever the normalisation says
DYNAMIC_RANGE_DB = 28.0  # peak - 28 dB maps to closed, peak - 4 dB to fully open
DIP_DB = 20.0  # a window this far below the speech peak, inside speech, is a closure (stop gap)
FRICATIVE_SHARE = 0.4  # of a quiet window's energy above 3 kHz: frication, not a closure
CORE_START = 0  # where in the analysis window the 25 ms judged for consonants starts
RELEASE_S = 0.08  # heard beyond the window, for the burst that ends a closure
RELEASE_RISE_DB = 12.0
JAW_POWER, JAW_FLOOR = 1.3, 0.35
F1_SHARE = 0.4  # of the openness read from F1; the rest from the low-frequency share, which is steadier
PRESS_FRAMES = 4  # a dip longer than this is a pause, not a consonant: the lips relax
LPC_ORDER = 10
F1_REF_RANGE = (math.log(420.0), math.log(650.0))  # log Hz
F2_REF_RANGE = (math.log(1350.0), math.log(2000.0))
# share of the gap to the target covered per frame (25 fps), (attack, release) per parameter
JAW_RATES = (0.65, 0.4)
WIDTH_RATE = 0.45
PRESS_RATE = 0.9  # both ways: lips shut and part within a frame


@dataclass(frozen=True)
class MouthShape:
    """One frame's mouth. ``jaw`` 0 closed .. 1 widest; ``width`` -1 rounded .. 0 rest .. 1 spread;
    ``press`` 0 relaxed .. 1 lips pressed together (covers the teeth of a smiling photo)."""

    jaw: float = 0.0
    width: float = 0.0
    press: float = 0.0


REST = MouthShape()


def _db(x: Samples) -> float:
    return 10 * math.log10(float(np.mean(x.astype(np.float64) ** 2)) + 1e-10)


def formants(window: Samples, sample_rate: int) -> tuple[float, float] | None:
    """The first two formant frequencies (Hz) of a voiced window, from the roots of its LPC polynomial.

    The window is halved in rate first (to 8 kHz from 16 kHz): the LPC poles then all describe the
    0-4 kHz band where F1 and F2 live, which resolves a low F1 (i, u) that a 16 kHz fit smears.
    """
    x = window.astype(np.float64)
    x = x[: len(x) // 2 * 2].reshape(-1, 2).mean(axis=1)
    rate = sample_rate / 2
    x = np.append(x[0], x[1:] - 0.9 * x[:-1]) * np.hamming(len(x))  # pre-emphasis flattens the spectral tilt
    r = np.correlate(x, x, "full")[len(x) - 1 : len(x) + LPC_ORDER]
    if r[0] <= 1e-9:
        return None
    try:
        a = solve_toeplitz(r[:-1], r[1:])
    except np.linalg.LinAlgError:
        return None
    roots = np.roots(np.concatenate([[1.0], -a]))
    roots = roots[roots.imag > 0]
    freqs = np.angle(roots) * rate / (2 * np.pi)
    bandwidths = -np.log(np.abs(roots) + 1e-12) * rate / np.pi
    peaks = np.sort(freqs[(bandwidths < 400) & (freqs > 180) & (freqs < 3400)])
    f1 = next((f for f in peaks if f < 1100), None)
    if f1 is None:
        return None
    f2 = next((f for f in peaks if f > f1 + 200 and f > 600), None)
    return (float(f1), float(f2)) if f2 is not None else None


class VisemeDriver:
    """Per-frame mouth shape from the audio around that frame, smoothed over time."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        size = int(WINDOW_S * sample_rate)
        self._window = np.hanning(size).astype(np.float32)
        freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
        self._low = (freqs >= 150) & (freqs < 1000)
        self._core_window = np.hanning(size // 2).astype(np.float32)
        core_freqs = np.fft.rfftfreq(size // 2, 1.0 / sample_rate)
        self._hiss = core_freqs >= 3000
        self._speech = (freqs >= 150) & (freqs < 5000)
        self._peak_db = -18.0
        self._f1_ref, self._f2_ref = math.log(500.0), math.log(1600.0)  # running averages of the voice (log Hz)
        self._dip_frames = 0
        self._release_len = int(RELEASE_S * sample_rate)
        self._hop = int(0.01 * sample_rate)
        self._burst_window = np.hanning(2 * self._hop).astype(np.float32)
        burst_freqs = np.fft.rfftfreq(2 * self._hop, 1.0 / sample_rate)
        self._burst_high, self._burst_mid = burst_freqs >= 3000, (burst_freqs >= 1200) & (burst_freqs < 3000)
        self.shape = REST

    def analysis_span(self, frame_start: int, frame_len: int) -> tuple[int, int]:
        """Sample range (relative to the utterance) that the frame starting at ``frame_start`` reads:
        ``WINDOW_S`` around the frame (a little ahead), then ``RELEASE_S`` more to hear how a closure ends."""
        centre = frame_start + frame_len // 2 + int(LOOKAHEAD_S * self.sample_rate)
        start = centre - len(self._window) // 2
        return start, start + len(self._window) + self._release_len

    def target(self, span: Samples) -> MouthShape:
        """Unsmoothed shape for one analysis span (see ``analysis_span``), updating the trackers."""
        window, after = span[: len(self._window)], span[len(self._window) :]
        level_db = _db(window)
        if level_db < SILENCE_DB:
            self._peak_db = max(self._peak_db - 0.1, -30.0)
        else:
            self._peak_db = max(level_db, self._peak_db - 0.08)  # slow decay: follow a quieter voice
        consonant = self._consonant(window, after)
        if consonant is not None:
            return consonant
        self._dip_frames = 0
        return self._vowel(window, level_db) if level_db >= SILENCE_DB else REST

    def _consonant(self, window: Samples, after: Samples) -> MouthShape | None:
        """A stop's closure or frication, judged on 25 ms at the frame: they are short."""
        core = window[CORE_START : CORE_START + len(window) // 2]
        core_db = _db(core)
        below = self._peak_db - core_db
        power = np.abs(np.fft.rfft(core * self._core_window)) ** 2
        if below > DIP_DB:
            if power[self._hiss].sum() / (power.sum() + 1e-12) > FRICATIVE_SHARE:  # s, sh, f: lips apart
                self._dip_frames = 0
                return MouthShape(jaw=0.08)
            release = self._release(np.concatenate([window[CORE_START + len(core) :], after]), core_db)
            if release == "labial":
                return self._closure()
            self._dip_frames = 0
            return MouthShape(jaw=0.05) if release else REST  # t, d, k, g: jaw up, lips barely apart; or a pause
        return None

    def _release(self, ahead: Samples, closure_db: float) -> str | None:
        """How the closure ends, if it ends within ``RELEASE_S``: ``"labial"`` for a p/b burst (weak above
        1.2 kHz: t and d burst high, k and g in the middle), ``"other"`` for any other."""
        for start in range(0, len(ahead) - 2 * self._hop + 1, self._hop):
            piece = ahead[start : start + 2 * self._hop]
            if _db(piece) > closure_db + RELEASE_RISE_DB:
                power = np.abs(np.fft.rfft(piece * self._burst_window)) ** 2
                total = power.sum() + 1e-12
                labial = power[self._burst_high].sum() / total < 0.25 and power[self._burst_mid].sum() / total < 0.35
                return "labial" if labial else "other"
        return None

    def _vowel(self, window: Samples, level_db: float) -> MouthShape:
        """Jaw from loudness and openness (F1, low-frequency share), width from F2, both against the voice."""
        loudness = float(np.clip((DYNAMIC_RANGE_DB - (self._peak_db - level_db)) / (DYNAMIC_RANGE_DB - 4.0), 0.0, 1.0))
        power = np.abs(np.fft.rfft(window * self._window)) ** 2
        low_share = float(power[self._low].sum() / (power[self._speech].sum() + 1e-12))
        openness = float(np.clip((low_share - 0.15) / 0.6, 0.0, 1.0))
        width = 0.0
        found = formants(window, self.sample_rate) if loudness > 0.3 else None
        if found is not None:
            d1, d2 = math.log(found[0]) - self._f1_ref, math.log(found[1]) - self._f2_ref
            # the voice's own averages, slowly, within the range of adult and child voices
            self._f1_ref = float(np.clip(self._f1_ref + 0.01 * d1, *F1_REF_RANGE))
            self._f2_ref = float(np.clip(self._f2_ref + 0.01 * d2, *F2_REF_RANGE))
            openness = (1 - F1_SHARE) * openness + F1_SHARE * float(np.clip(0.45 + d1 / 0.6, 0.0, 1.0))
            width = float(np.clip(d2 / 0.3, -1.0, 1.0))
            if width < 0:  # rounding is a mid or close vowel's (o, u); an open back vowel (a) stays neutral
                width *= 1.0 - float(np.clip((d1 - 0.15) / 0.3, 0.0, 1.0))
        return MouthShape(jaw=loudness**JAW_POWER * (JAW_FLOOR + (1 - JAW_FLOOR) * openness), width=width)

    def _closure(self) -> MouthShape:
        """Lips together; pressed for a consonant-long dip, relaxed once it has lasted a pause."""
        self._dip_frames += 1
        if self._dip_frames > PRESS_FRAMES:
            return REST
        # the jaw stays where it was behind the shut lips, so the mouth opens at once at the release
        return MouthShape(jaw=self.shape.jaw, width=self.shape.width, press=1.0)

    def step(self, target: MouthShape, *, release: float = JAW_RATES[1]) -> MouthShape:
        """Move the smoothed shape towards ``target``; ``release`` sets how fast the jaw closes."""
        s = self.shape
        jaw = s.jaw + (JAW_RATES[0] if target.jaw > s.jaw else release) * (target.jaw - s.jaw)
        press = s.press + PRESS_RATE * (target.press - s.press)
        width = s.width + WIDTH_RATE * (target.width - s.width)
        self.shape = MouthShape(
            jaw=jaw if jaw >= 1e-3 else 0.0,
            width=width if abs(width) >= 1e-3 else 0.0,
            press=press if press >= 1e-3 else 0.0,
        )
        return self.shape

    def reset_level(self) -> None:
        self._peak_db = -18.0
        self._dip_frames = 0
