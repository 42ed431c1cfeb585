"""The degradation state machine: late frames, the order of steps under a spike, hysteresis."""
from avatar_runtime.capacity.degrade import DegradeConfig, Degrader, FramePacing, Quality, SessionLoad

from .scripted import ScriptedCpu

CONFIG = DegradeConfig(late_high=0.2, late_low=0.02, window=2.0, step_every=2.0, recover_after=10.0)


def test_frames_handed_over_after_their_slot_count_as_late() -> None:
    time = ScriptedCpu()
    pacing = FramePacing(25, CONFIG, clock=time.clock)
    assert pacing.late_ratio() is None  # nothing yet to judge by
    for k in range(50):  # on time
        pacing.on_frame(k / 25)
        time.run(0.04, host=0)
    assert pacing.late_ratio() == 0.0
    time.run(0.09, host=0)  # a hiccup: from here on frames leave 90 ms after their slot
    for k in range(50, 60):
        pacing.on_frame(k / 25)
        time.run(0.04, host=0)
    assert pacing.late_ratio() == 0.0  # within what a kiosk's jitter buffer absorbs
    for k in range(60, 110):  # each takes 60 ms: they fall further and further behind
        pacing.on_frame(k / 25)
        time.run(0.06, host=0)
    ratio = pacing.late_ratio()
    assert ratio is not None and ratio > 0.8
    assert pacing.frames == 110 and 40 <= pacing.late <= 50


def loads(*sessions: tuple[str, float | None, float]) -> list[SessionLoad]:
    return [SessionLoad(sid, late, cpu) for sid, late, cpu in sessions]


def test_without_headroom_the_busiest_loses_video_first_and_all_lose_some_before_one_loses_all() -> None:
    time = ScriptedCpu()
    degrader = Degrader(CONFIG, clock=time.clock)
    sessions = loads(("a", 0.05, 0.4), ("b", 0.05, 0.9), ("c", 0.05, 0.6))  # a little behind, all of them
    taken = []
    for _ in range(4):
        steps = degrader.plan(sessions, headroom=-0.3, step_up_room=0.3)
        assert len(steps) == 1  # one step per round: the readings must show it before the next
        taken.append((steps[0].session_id, steps[0].after))
        time.run(1.0, host=0)
    assert taken == [("b", Quality.REDUCED_VIDEO), ("c", Quality.REDUCED_VIDEO), ("a", Quality.REDUCED_VIDEO),
                     ("b", Quality.VOICE_ONLY)]
    assert [s.reason for s in degrader.plan(sessions, -0.3, 0.3)] == ["no_headroom"]


def test_without_headroom_sessions_that_keep_time_keep_their_video() -> None:
    # The host is over the admission target (niced background work, another process) but every
    # frame leaves on time: nothing the customer would see, so nothing is taken from them.
    time = ScriptedCpu()
    degrader = Degrader(CONFIG, clock=time.clock)
    on_time = loads(("a", 0.0, 0.4), ("b", 0.01, 0.9))
    for _ in range(5):
        assert degrader.plan(on_time, headroom=-0.3, step_up_room=0.3) == []
        time.run(1.0, host=0)
    # A session that has just started has too few frames to judge: no evidence either.
    assert degrader.plan(loads(("a", 0.0, 0.4), ("b", None, 0.9)), -0.3, 0.3) == []
    assert [(s.session_id, s.reason) for s in degrader.plan(loads(("a", 0.03, 0.4), ("b", None, 0.9)), -0.3, 0.3)] == [
        ("b", "no_headroom")]  # one lags a little: the busiest steps down first


def test_a_session_whose_frames_fall_behind_steps_down_by_itself_not_faster_than_step_every() -> None:
    time = ScriptedCpu()
    degrader = Degrader(CONFIG, clock=time.clock)
    behind = loads(("a", 0.5, 0.5), ("b", 0.0, 0.5))
    steps = degrader.plan(behind, headroom=1.0, step_up_room=0.3)
    assert [(s.session_id, s.before, s.after, s.reason) for s in steps] == [
        ("a", Quality.FULL, Quality.REDUCED_VIDEO, "late_frames")]
    time.run(1.0, host=0)
    assert degrader.plan(behind, headroom=1.0, step_up_room=0.3) == []  # too soon after the last step
    time.run(1.0, host=0)
    assert [s.after for s in degrader.plan(behind, 1.0, 0.3)] == [Quality.VOICE_ONLY]
    time.run(5.0, host=0)
    assert degrader.plan(behind, 1.0, 0.3) == []  # the bottom: the audio is never degraded
    assert degrader.level("a") == Quality.VOICE_ONLY and degrader.level("b") == Quality.FULL


def test_steps_back_up_only_after_the_spike_has_passed_for_a_while_one_level_at_a_time() -> None:
    time = ScriptedCpu()
    degrader = Degrader(CONFIG, clock=time.clock)
    spike = loads(("a", 0.1, 0.8))
    for _ in range(2):
        degrader.plan(spike, headroom=-0.5, step_up_room=0.3)
        time.run(2.0, host=0)
    assert degrader.level("a") == Quality.VOICE_ONLY
    calm = loads(("a", 0.0, 0.2))
    for _ in range(9):  # 9 s of calm: not yet
        assert degrader.plan(calm, headroom=1.0, step_up_room=0.3) == []
        time.run(1.0, host=0)
    # Headroom just under what the step back needs resets the wait (hysteresis).
    assert degrader.plan(calm, headroom=0.2, step_up_room=0.3) == []
    for _ in range(10):
        assert degrader.plan(calm, headroom=1.0, step_up_room=0.3) == []
        time.run(1.0, host=0)
    steps = degrader.plan(calm, headroom=1.0, step_up_room=0.3)
    assert [(s.before, s.after, s.reason) for s in steps] == [(Quality.VOICE_ONLY, Quality.REDUCED_VIDEO, "recovered")]
    for _ in range(10):
        time.run(1.0, host=0)
        degrader.plan(calm, headroom=1.0, step_up_room=0.3)
    time.run(1.0, host=0)
    degrader.plan(calm, headroom=1.0, step_up_room=0.3)
    assert degrader.level("a") == Quality.FULL


def test_a_closed_session_is_forgotten() -> None:
    time = ScriptedCpu()
    degrader = Degrader(CONFIG, clock=time.clock)
    degrader.plan(loads(("a", 0.9, 0.5)), headroom=1.0, step_up_room=0.3)
    assert degrader.level("a") == Quality.REDUCED_VIDEO
    degrader.plan([], headroom=1.0, step_up_room=0.3)
    assert degrader.level("a") == Quality.FULL
