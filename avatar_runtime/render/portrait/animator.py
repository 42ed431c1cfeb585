"""What the face does in each frame: the mouth shape (from :mod:`.visemes`), blinks, breathing and
head motion, so that the face is never frozen, speaking or not; and the conversation's state
(``set_state``): attention with a slow nod while the customer speaks, a thinking look (eyes up and
aside, brows raised a little) until the answer starts. States blend in and out.
"""
import math
import random
from dataclasses import dataclass

from avatar_runtime.render.portrait.visemes import MouthShape

BLINK_INTERVAL_S = (3.0, 6.0)
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.05, 0.03, 0.07
BREATH_HZ = 0.23  # ~14 breaths a minute, at rest
NOD_HZ = 0.45  # a listener's slow nod
STATE_EASE_S = 0.25  # time constant of blending into and out of listening and thinking
THINK_GAZE = (0.22, -0.18)  # eyes up and aside, in eye widths / heights


@dataclass(frozen=True)
class Pose:
    """One frame's face state. Head offsets are in output pixels and degrees."""

    mouth: MouthShape
    blink: float  # 0 open eyes .. 1 closed
    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0
    gaze: tuple[float, float] = (0.0, 0.0)  # iris shift in eye widths (x) and heights (y, < 0 up)
    brow: float = 0.0  # 0 rest .. 1 raised


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
        self._nod = 0.012 * face_width
        self._state = "idle"
        self._listen = self._think = 0.0  # blended weights of the two expressions
        self._last_t: float | None = None

    def set_state(self, state: str) -> None:
        self._state = state

    def _blend(self, t: float) -> None:
        dt = 0.0 if self._last_t is None else max(t - self._last_t, 0.0)
        self._last_t = t
        rate = 1 - math.exp(-dt / STATE_EASE_S)
        self._listen += rate * (float(self._state == "listening") - self._listen)
        self._think += rate * (float(self._state == "thinking") - self._think)

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
        self._blend(t)
        listen, think = self._listen, self._think
        breath = self._breath * math.sin(2 * math.pi * BREATH_HZ * t)
        # attention: the head comes up a little and nods slowly (down-strokes only, as a listener does)
        nod = listen * self._nod * (max(0.0, math.sin(2 * math.pi * NOD_HZ * t)) ** 2 - 0.4)
        return Pose(
            mouth=mouth,
            blink=self.blink(t),
            dx=self._shift * self._wave(0, t),
            dy=self._shift * (0.7 * self._wave(1, t) + 1.5 * energy) - breath + nod,
            angle=self._tilt * self._wave(2, t),
            gaze=(THINK_GAZE[0] * think, THINK_GAZE[1] * think),
            brow=think,
        )
