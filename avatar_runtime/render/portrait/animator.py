"""What the face does in each frame: the mouth shape (from :mod:`.visemes`), blinks, breathing and
head motion, so that the face is never frozen, speaking or not.
"""
import math
import random
from dataclasses import dataclass

from avatar_runtime.render.portrait.visemes import MouthShape

BLINK_INTERVAL_S = (3.0, 6.0)
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.05, 0.03, 0.07
BREATH_HZ = 0.23  # ~14 breaths a minute, at rest


@dataclass(frozen=True)
class Pose:
    """One frame's face state. Head offsets are in output pixels and degrees."""

    mouth: MouthShape
    blink: float  # 0 open eyes .. 1 closed
    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0


class IdleMotion:
    """Blinks at random 3-6 s intervals, breathing, and a slow, small head sway that never repeats exactly."""

    def __init__(self, face_width: float, *, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._next_blink = self._rng.uniform(1.0, BLINK_INTERVAL_S[0])
        # three incommensurate sines per axis: smooth, aperiodic-looking motion
        self._waves = [
            [(self._rng.uniform(0.07, 0.35), self._rng.uniform(0, 2 * math.pi)) for _ in range(3)] for _ in range(3)
        ]
        self._shift = 0.012 * face_width  # pixels; a couple at our face sizes
        self._tilt = 0.8  # degrees
        self._breath = 0.006 * face_width  # the head rises and sinks a little with each breath

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

    def pose(self, t: float, mouth: MouthShape, energy: float) -> Pose:
        """``energy``: a slow average of recent jaw opening; speech adds a slight nod."""
        breath = self._breath * math.sin(2 * math.pi * BREATH_HZ * t)
        return Pose(
            mouth=mouth,
            blink=self.blink(t),
            dx=self._shift * self._wave(0, t),
            dy=self._shift * (0.7 * self._wave(1, t) + 1.5 * energy) - breath,
            angle=self._tilt * self._wave(2, t),
        )
