"""The batch-size choice and the queue's idle and fade handling (pure scheduling, no models)."""
from avatar_runtime.render.musetalk.scheduler import EdfQueue, FrameJob, JobKind, choose_batch

# Seconds per batch by size, as measured on an H100 (graph replay + ~1 ms of host work).
COSTS = {1: 0.007, 4: 0.015, 8: 0.021, 16: 0.036, 32: 0.064}


def _job(deadline: float, kind: JobKind = JobKind.RENDER, idle: bool = False) -> FrameJob:
    return FrameJob(session="s", avatar="a", frame=0, deadline=deadline, kind=kind, idle=idle)


def test_smallest_batch_that_meets_the_deadlines_and_keeps_up_with_arrivals() -> None:
    relaxed = [10.5] * 16
    assert choose_batch(relaxed, 10.0, COSTS) == 1  # nothing arriving: single frames meet every deadline
    assert choose_batch(relaxed, 10.0, COSTS, rate=300) == 8  # 360 fps needed: 8 / 21 ms = 381 fps
    assert choose_batch(relaxed, 10.0, COSTS, rate=400) == 32  # 480 fps needed: only 32 / 64 ms = 500 fps
    assert choose_batch([], 10.0, COSTS, rate=400) == 1  # nothing queued


def test_an_urgent_frame_bounds_the_batch_even_under_load() -> None:
    # A first speech frame due in 35 ms ahead of 30 frames due in 400 ms: only batches of 8 or
    # fewer render it in time, so throughput gives way, for this batch.
    deadlines = [10.035] + [10.4] * 30
    assert choose_batch(deadlines, 10.0, COSTS, rate=400) == 8


def test_a_backlog_takes_the_biggest_batch_that_still_meets_the_earliest_deadline() -> None:
    backlog = [10.1] * 64  # no size meets all 64 (two batches of 32 take 128 ms)
    assert choose_batch(backlog, 10.0, COSTS) == 32
    late = [9.9] * 8  # already late: the biggest size clears it fastest
    assert choose_batch(late, 10.0, COSTS) == 32
    assert choose_batch(late, 10.0, {}, fallback=16) == 16  # no measured costs (CPU)


def test_fades_ride_along_and_do_not_count_against_the_render_limit() -> None:
    now = 0.0
    queue = EdfQueue(horizon=1.0, clock=lambda: now)
    renders = [_job(0.1 + i / 100) for i in range(3)]
    fade = _job(0.115, JobKind.FADE)
    for job in [*renders, fade]:
        queue.push(job)
    assert queue.take(lambda earliest: 2, timeout=0) == [renders[0], renders[1], fade]
    assert queue.take(lambda earliest: 2, timeout=0) == [renders[2]]


def test_idle_jobs_run_only_when_no_live_job_is_due() -> None:
    now = 0.0
    queue = EdfQueue(horizon=1.0, clock=lambda: now)
    idle = [_job(float("inf"), idle=True) for _ in range(5)]
    for job in idle:
        queue.push(job)
    live = _job(0.5)
    queue.push(live)
    far = _job(3.0)  # beyond the horizon: does not hold idle work back
    queue.push(far)
    assert queue.take(lambda earliest: 8, timeout=0, idle_limit=2) == [live]
    idle[1].cancelled = True
    assert queue.take(lambda earliest: 8, timeout=0, idle_limit=2) == [idle[0], idle[2]]
    assert queue.take(lambda earliest: 8, timeout=0, idle_limit=2) == [idle[3], idle[4]]
    assert queue.take(lambda earliest: 8, timeout=0, idle_limit=2) == []


def test_arrival_rate_and_deadlines_count_live_renders_only() -> None:
    now = 0.0
    queue = EdfQueue(horizon=1.0, clock=lambda: now)
    for deadline in (0.3, 0.2, 1.5):
        queue.push(_job(deadline))
    queue.push(_job(0.25, JobKind.FADE))
    queue.push(_job(0.1, idle=True))
    assert queue.render_deadlines(8) == [0.2, 0.3]  # 1.5 is beyond the horizon
    assert queue.arrival_rate() == 3.0
    now = 1.5
    assert queue.arrival_rate() == 0.0
