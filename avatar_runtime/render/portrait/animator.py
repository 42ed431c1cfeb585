"""What the face does in each frame: mouth opening from the audio, blinks and head motion.

The mouth follows the speech, not the frame: each 40 ms frame looks a little ahead in the audio
(lips move before the sound they make) and the opening is smoothed with a fast attack and a
slower release, so syllables read as motion rather than flicker. Loudness is normalised against
the utterance's own recent peak, and the share of low-frequency energy (open vowels put it in
the first formant, fricatives above 3 kHz) decides how wide a loud frame opens.
"""
import math
import random
from dataclasses import dataclass

import numpy as np

from avatar_runtime.pipeline.messages import Samples

LOOKAHEAD_S = 0.02
WINDOW_S = 0.05
SILENCE_DB = -55.0  # below this (dBFS), the mouth closes whatever the normalisation says
DYNAMIC_RANGE_DB = 28.0  # peak - 28 dB maps to closed, peak - 4 dB to fully open
ATTACK, RELEASE = 0.65, 0.4  # share of the gap to the target covered per frame (25 fps)
BLINK_INTERVAL_S = (3.0, 6.0)
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.05, 0.03, 0.07


@dataclass(frozen=True)
class Pose:
    """One frame's face state. Head offsets are in output pixels and degrees."""

    opening: float  # 0 closed .. 1 widest
    blink: float  # 0 open eyes .. 1 closed
    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0


class MouthDriver:
    """Per-frame mouth opening from the audio around that frame, smoothed over time."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        size = int(WINDOW_S * sample_rate)
        self._window = np.hanning(size).astype(np.float32)
        freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
        self._low = (freqs >= 150) & (freqs < 1000)
        self._speech = (freqs >= 150) & (freqs < 5000)
        self._peak_db = -18.0
        self.opening = 0.0

    def analysis_span(self, frame_start: int, frame_len: int) -> tuple[int, int]:
        """Sample range (relative to the utterance) that the frame starting at ``frame_start`` reads."""
        centre = frame_start + frame_len // 2 + int(LOOKAHEAD_S * self.sample_rate)
        half = len(self._window) // 2
        return centre - half, centre - half + len(self._window)

    def target(self, window: Samples) -> float:
        """Unsmoothed opening for one analysis window (``len == WINDOW_S``), updating the level tracker."""
        level_db = 10 * math.log10(float(np.mean(window.astype(np.float64) ** 2)) + 1e-10)
        if level_db < SILENCE_DB:
            self._peak_db = max(self._peak_db - 0.1, -30.0)
            return 0.0
        self._peak_db = max(level_db, self._peak_db - 0.08)  # slow decay: follow a quieter voice
        loudness = float(np.clip((level_db - (self._peak_db - DYNAMIC_RANGE_DB)) / (DYNAMIC_RANGE_DB - 4.0), 0.0, 1.0))
        power = np.abs(np.fft.rfft(window * self._window)) ** 2
        low_share = float(power[self._low].sum() / (power[self._speech].sum() + 1e-12))
        vowelness = float(np.clip((low_share - 0.15) / 0.6, 0.0, 1.0))
        return loudness**1.3 * (0.35 + 0.65 * vowelness)

    def step(self, target: float, *, release: float = RELEASE) -> float:
        rate = ATTACK if target > self.opening else release
        self.opening += rate * (target - self.opening)
        if self.opening < 1e-3:
            self.opening = 0.0
        return self.opening

    def reset_level(self) -> None:
        self._peak_db = -18.0


class IdleMotion:
    """Blinks at random 3-6 s intervals and a slow, small head sway that never repeats exactly."""

    def __init__(self, face_width: float, *, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._next_blink = self._rng.uniform(1.0, BLINK_INTERVAL_S[0])
        # three incommensurate sines per axis: smooth, aperiodic-looking motion
        self._waves = [
            [(self._rng.uniform(0.07, 0.35), self._rng.uniform(0, 2 * math.pi)) for _ in range(3)] for _ in range(3)
        ]
        self._shift = 0.012 * face_width  # pixels; a couple at our face sizes
        self._tilt = 0.8  # degrees

    def _wave(self, axis: int, t: float) -> float:
        return sum(math.sin(2 * math.pi * f * t + p) for f, p in self._waves[axis]) / 3

    def blink(self, t: float) -> float:
        if t >= self._next_blink + BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S:
            self._next_blink = t + self._rng.uniform(*BLINK_INTERVAL_S)
        tau = t - self._next_blink
        if tau < 0:
            return 0.0
        if tau < BLINK_CLOSE_S:
            return tau / BLINK_CLOSE_S
        if tau < BLINK_CLOSE_S + BLINK_HOLD_S:
            return 1.0
        return max(0.0, 1.0 - (tau - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S)

    def pose(self, t: float, opening: float, energy: float) -> Pose:
        """``energy``: a slow average of recent mouth opening; speech adds a slight nod."""
        return Pose(
            opening=opening,
            blink=self.blink(t),
            dx=self._shift * self._wave(0, t),
            dy=self._shift * (0.7 * self._wave(1, t) + 1.5 * energy),
            angle=self._tilt * self._wave(2, t),
        )
