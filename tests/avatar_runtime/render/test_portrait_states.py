"""The face between answers, read from rendered frames: attention with a nod while the customer
speaks, a thinking look (eyes up and aside, brows raised) until the answer, never a frozen frame."""
import itertools

import cv2
import numpy as np

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.portrait.clock import VirtualClock
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from tests.avatar_runtime.render.media import astronaut

FRAMES = 50  # 2 s


def rendered(state: str) -> list[Image]:
    renderer = PortraitRenderer(astronaut(), clock=VirtualClock(), seed=3)  # same blinks and sway for every state
    renderer.set_state(state)
    return [renderer.render_next().image for _ in range(FRAMES)]


def eye_boxes() -> list[tuple[slice, slice]]:
    rig = astronaut().rig
    return [rig.to_output(eye).expand(1.2, 1.2).slices() for eye in (rig.left_eye, rig.right_eye)]


def iris_x(image: Image, box: tuple[slice, slice]) -> float:
    """Column of the eye's darkest pixels (the iris and pupil), weighted by darkness."""
    grey = cv2.cvtColor(np.ascontiguousarray(image[box]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    dark = np.clip(np.percentile(grey, 20) - grey, 0, None)
    return float((dark.sum(axis=0) * np.arange(grey.shape[1])).sum() / dark.sum())


def head_shift_y(a: Image, b: Image) -> float:
    """Vertical shift of the face from ``a`` to ``b`` (px), by phase correlation over the head."""
    rows, cols = astronaut().rig.to_output(astronaut().rig.face).slices()
    grey = [cv2.cvtColor(np.ascontiguousarray(x[rows, cols]), cv2.COLOR_RGB2GRAY).astype(np.float32) for x in (a, b)]
    (_, dy), _ = cv2.phaseCorrelate(grey[0], grey[1])
    return float(dy)


def test_thinking_looks_up_and_aside_with_raised_brows() -> None:
    idle, thinking = rendered("idle"), rendered("thinking")
    for box in eye_boxes():
        shifts = [iris_x(t, box) - iris_x(i, box) for i, t in zip(idle[25:], thinking[25:], strict=True)]
        assert np.median(shifts) >= 1.0, shifts  # the gaze goes aside (to the image's right)
        rows, cols = box
        brow = (slice(max(rows.start - (rows.stop - rows.start), 0), rows.start), cols)
        diff = np.abs(thinking[40][brow].astype(np.int16) - idle[40][brow].astype(np.int16))
        assert diff.mean() > 2.0  # the skin above the eye has moved
    # the thought comes on over a few frames, not at once
    first = eye_boxes()[0]
    early, settled = (abs(iris_x(thinking[k], first) - iris_x(idle[k], first)) for k in (1, 30))
    assert early < 0.5 * settled


def test_listening_nods() -> None:
    idle, listening = rendered("idle"), rendered("listening")
    shifts = [head_shift_y(i, li) for i, li in zip(idle, listening, strict=True)]
    assert max(shifts[10:]) - min(shifts[10:]) >= 1.0, shifts  # a nod on top of the same sway


def test_no_state_freezes_the_face() -> None:
    for state in ("idle", "listening", "thinking"):
        frames = rendered(state)
        for a, b in itertools.pairwise(frames):
            assert np.any(a != b), state
