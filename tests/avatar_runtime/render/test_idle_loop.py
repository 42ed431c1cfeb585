"""A video avatar's idle loop: stored by preparation, played on the audio clock, the mouth on the moving face."""
import functools
import itertools
from pathlib import Path

import numpy as np

from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.render.portrait.clock import VirtualClock
from avatar_runtime.render.portrait.idle_loop import IdleLoop, build_idle_loop, idle_loop
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from tests.avatar_runtime.render.media import astronaut, moving_portrait_motion, moving_portrait_video, spoken

FRAMES = 75  # of the test video: 3 s at 25 fps


@functools.cache
def loop() -> IdleLoop:
    return build_idle_loop(moving_portrait_video(FRAMES), astronaut())


def renderer() -> PortraitRenderer:
    return PortraitRenderer(astronaut(), clock=VirtualClock(), seed=1, loop=loop())


def step(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_preparation_stores_the_loop_and_a_session_loads_it(tmp_path: Path) -> None:
    video = moving_portrait_video(FRAMES)
    made = idle_loop(video, astronaut(), cache_dir=tmp_path)
    stored = list(tmp_path.glob("loop-*.npz"))
    assert len(stored) == 1 and len(made) == FRAMES and made.frames.shape[1:] == (512, 512, 3)
    loaded = idle_loop(video, astronaut(), cache_dir=tmp_path)
    assert np.array_equal(loaded.frames, made.frames) and np.allclose(loaded.transforms, made.transforms)


def test_the_tracked_face_follows_the_pan_and_zoom() -> None:
    rig = astronaut().rig
    crop = np.array([[rig.scale, 0, -rig.crop.x0 * rig.scale], [0, rig.scale, -rig.crop.y0 * rig.scale], [0, 0, 1]])
    mouth = np.array([*rig.mouth.center, 1.0])
    still_xy = (crop @ mouth)[:2]
    for k in range(0, FRAMES, 5):
        truth = crop[:2] @ np.vstack([moving_portrait_motion(k, FRAMES), [0, 0, 1]]) @ mouth
        tracked = loop().transforms[k] @ np.array([*still_xy, 1.0])
        assert np.abs(tracked - truth).max() < 2.0, (k, tracked, truth)


def test_idle_frames_play_the_video_and_the_loop_point_has_no_jump() -> None:
    r = renderer()
    cycle = 2 * FRAMES - 2  # ping-pong
    images = [r.render_next().image for _ in range(cycle + 3)]
    steps = [step(a, b) for a, b in itertools.pairwise(images)]
    median = float(np.median(steps))
    assert step(images[0], images[FRAMES // 4]) > 5 * median  # the head has moved: not one frame
    assert sum(s == 0 for s in steps) <= 0.1 * len(steps)  # changing frame by frame (blinks aside)
    assert steps[FRAMES - 1] < 2.5 * median  # turning back at the loop's end
    assert steps[cycle - 1] < 2.5 * median  # and round to the start
    assert step(images[cycle], images[0]) < 0.2 * median  # the same loop frame again (a blink aside)


def mouth_change_centre(frame: VideoFrame, base: np.ndarray) -> tuple[float, float] | None:
    """Where an open mouth changed the loop's frame (lower face only: blinks left out); None when barely open."""
    rig = astronaut().rig
    top = int(rig.to_output(rig.mouth).y0 - 0.6 * rig.to_output(rig.mouth).height)
    changed = np.abs(frame.image.astype(np.int16) - base.astype(np.int16)).sum(axis=2) > 60
    changed[:top] = False
    ys, xs = np.nonzero(changed)
    return (float(xs.mean()), float(ys.mean())) if len(xs) > 4500 else None


def test_the_mouth_is_drawn_where_the_moving_face_is() -> None:
    r = renderer()
    r.push_audio(spoken("Hello, how are you? Ask me about the opening hours and the cafe."), 16000)
    r.flush()
    mouth = astronaut().rig.to_output(astronaut().rig.mouth).center
    offsets, away = [], []
    for i in range(FRAMES):
        frame = r.render_next()
        k = loop().index(i)
        centre = mouth_change_centre(frame, loop().frames[k])
        if centre is not None:
            tracked = loop().transforms[k] @ np.array([*mouth, 1.0])  # the mouth's place in this loop frame
            offsets.append((centre[0] - tracked[0], centre[1] - tracked[1]))
            away.append(abs(centre[0] - mouth[0]))
    assert len(offsets) > 20
    dx, dy = np.array(offsets).T
    assert np.abs(dx).max() < 3.5 and dy.std() < 3.0  # the open mouth moves with the face ...
    assert max(away) > 15  # ... far from where the still's mouth was
