"""The worker's governor over real session runners: every quality step is logged with the session
id, told to the kiosk, and reversed once the spike has passed; admission holds the budget."""
import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer

from avatar_runtime.capacity.budget import BudgetConfig, CpuBudget
from avatar_runtime.capacity.degrade import DegradeConfig, Degrader, FramePacing, Quality
from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.worker.governor import Governor
from avatar_runtime.worker.session_runner import SessionRunner

from .scripted import ScriptedCpu


@dataclass
class DrawingRenderer:
    """What the runner changes on a renderer when it degrades a session (``render.base.VideoRate``)."""

    fps: int = 25
    video_every: int = 1


@dataclass
class Backends:
    renderer: DrawingRenderer = field(default_factory=DrawingRenderer)


@dataclass
class LightSession:
    """The parts of a ConversationSession the runner and the governor use (no models)."""

    session_id: str
    cpu: StageCpu = field(default_factory=StageCpu)
    backends: Backends = field(default_factory=Backends)
    answer_recording_paused: bool = False


async def quality_events(layer: InMemoryChannelLayer, channel: str) -> list[dict[str, Any]]:
    events = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), 0.05)
        except TimeoutError:
            return events
        events.append(message["event"])


async def test_degrade_steps_are_logged_told_to_the_kiosk_and_reversed(caplog: pytest.LogCaptureFixture) -> None:
    time = ScriptedCpu(cores=2)
    budget = CpuBudget(BudgetConfig(initial_cost=0.5, window=2.0), read=time.read, clock=time.clock)
    degrade = DegradeConfig(step_every=2.0, recover_after=6.0)
    governor = Governor(budget=budget, degrader=Degrader(degrade, clock=time.clock), clock=time.clock)
    layer = InMemoryChannelLayer()
    reply = await layer.new_channel()
    runners = {sid: SessionRunner(session=LightSession(sid), layer=layer, reply_channel=reply,  # type: ignore[arg-type]
                                  media="ws", worker_id="w", pacing=FramePacing(25, degrade, clock=time.clock))
               for sid in ("s-busy", "s-calm")}
    caplog.set_level(logging.WARNING, logger="avatar_runtime.worker.governor")
    pts = 0.0

    async def second(host: float) -> list[tuple[str, str, str]]:
        nonlocal pts
        # Over the machine's target, one frame in ten leaves late (not yet enough to step down by itself).
        for k in range(25):
            time.run(0.04, host=host, process=host * 0.9)
            for runner in runners.values():
                assert runner.pacing is not None
                runner.pacing.on_frame(pts - (0.2 if host > 1.7 and k % 10 == 0 else 0.0))
            pts += 0.04
        runners["s-busy"].session.cpu.add("rendering", 0.5)  # the busier of the two
        runners["s-calm"].session.cpu.add("rendering", 0.2)
        return [(s.session_id, s.after.label, s.reason) for s in await governor.tick(runners)]

    assert await second(host=0.5) == []  # calm: nothing to do
    spike = [step for _ in range(3) for step in await second(host=2.0)]  # a CPU-heavy job: headroom < 0
    assert spike == [("s-busy", "reduced_video", "no_headroom"), ("s-calm", "reduced_video", "no_headroom"),
                     ("s-busy", "voice_only", "no_headroom")]  # video of the busiest first, never the audio
    assert runners["s-busy"].quality == Quality.VOICE_ONLY and runners["s-busy"].session.backends.renderer.video_every == 0
    assert governor.degraded(runners) == {"s-busy": "voice_only", "s-calm": "reduced_video"}
    assert "session s-busy: quality full -> reduced_video (no_headroom" in caplog.text

    recovered = [step for _ in range(30) for step in await second(host=0.3)]  # the job has ended
    assert recovered == [("s-busy", "reduced_video", "recovered"), ("s-calm", "full", "recovered"),
                         ("s-busy", "full", "recovered")]  # one step at a time, the most degraded first
    assert all(r.quality == Quality.FULL and r.session.backends.renderer.video_every == 1 for r in runners.values())
    assert "session s-busy: quality voice_only -> reduced_video (recovered" in caplog.text
    told = [(e["level"], e["reason"]) for e in await quality_events(layer, reply) if e["type"] == "quality"]
    assert told == [("reduced_video", "no_headroom"), ("reduced_video", "no_headroom"), ("voice_only", "no_headroom"),
                    ("reduced_video", "recovered"), ("full", "recovered"), ("full", "recovered")]


def test_admission_holds_the_budget_but_always_the_guaranteed_sessions() -> None:
    time = ScriptedCpu(cores=2)
    budget = CpuBudget(BudgetConfig(initial_cost=0.5, window=2.0), read=time.read, clock=time.clock)
    governor = Governor(budget=budget, degrader=None, min_sessions=1, clock=time.clock)
    budget.sample(0)
    time.run(1.0, host=1.9)  # someone else fills the machine
    budget.sample(0)
    assert governor.headroom is not None and governor.headroom < 0
    assert governor.admits(sessions=0)  # a worker alone on a busy host still serves one kiosk
    assert not governor.admits(sessions=1)
    assert Governor(budget=None, degrader=None).admits(sessions=50)  # count only: the capacity decides


async def test_after_stepping_a_session_down_the_worker_stays_below_that_many_sessions_for_a_while() -> None:
    time = ScriptedCpu(cores=2)
    budget = CpuBudget(BudgetConfig(initial_cost=0.3, window=2.0), read=time.read, clock=time.clock)
    degrade = DegradeConfig(step_every=2.0, recover_after=6.0)
    governor = Governor(budget=budget, degrader=Degrader(degrade, clock=time.clock), clock=time.clock,
                        overload_hold=30.0)
    layer = InMemoryChannelLayer()
    reply = await layer.new_channel()
    runners = {sid: SessionRunner(session=LightSession(sid), layer=layer, reply_channel=reply,  # type: ignore[arg-type]
                                  media="ws", worker_id="w", pacing=FramePacing(25, degrade, clock=time.clock))
               for sid in ("s1", "s2", "s3")}
    pts = 0.0

    async def second(late: bool) -> None:
        nonlocal pts
        for _ in range(25):
            time.run(0.04, host=1.0, process=0.9)  # the mean leaves room: only the frames tell
            for runner in runners.values():
                assert runner.pacing is not None
                runner.pacing.on_frame(pts - (0.3 if late else 0.0))
            pts += 0.04
        await governor.tick(runners)

    for _ in range(3):
        await second(late=False)
    assert governor.admits(3) and not governor.holding(3)
    await second(late=True)  # three sessions' frames fall behind: each steps down
    assert governor.degraded(runners)
    assert governor.room is not None and governor.room > budget.cost.value  # the budget alone would admit
    assert governor.holding(1) is False and governor.admits(1)  # a second session is fine
    assert governor.holding(2) and not governor.admits(2)  # a third would make three again
    runners.pop("s3")
    for _ in range(31):
        await second(late=False)
    assert not governor.holding(2) and governor.admits(2)  # the hold has passed


def test_the_registry_places_by_headroom_and_keeps_the_count_as_a_hard_cap() -> None:
    from avatar_runtime.worker.registry import WorkerInfo, workers_with_room

    roomy = WorkerInfo("roomy", "c1", capacity=4, load=2, seen=0.0, headroom=1.2, session_cost=0.4)
    tight = WorkerInfo("tight", "c2", capacity=4, load=0, seen=0.0, headroom=0.5, session_cost=0.4)
    full = WorkerInfo("full", "c3", capacity=2, load=2, seen=0.0, headroom=3.0, session_cost=0.4)
    none_left = WorkerInfo("none-left", "c4", capacity=4, load=1, seen=0.0, headroom=0.1, session_cost=0.4)
    alone = WorkerInfo("alone", "c5", capacity=4, load=0, seen=0.0, headroom=-0.5, session_cost=0.4, min_sessions=1)
    counted = WorkerInfo("counted", "c6", capacity=4, load=3, seen=0.0)  # no governor: the count decides
    held = WorkerInfo("held", "c7", capacity=4, load=2, seen=0.0, headroom=2.0, session_cost=0.4, held=True)
    ranked = workers_with_room([tight, full, none_left, roomy, alone, counted, held])
    assert [w.worker_id for w in ranked] == ["roomy", "tight", "counted", "alone"]  # the most room first


async def test_answer_recording_pauses_when_no_session_would_fit_and_resumes_with_room(
        caplog: pytest.LogCaptureFixture) -> None:
    time = ScriptedCpu(cores=2)
    budget = CpuBudget(BudgetConfig(initial_cost=0.5, window=2.0), read=time.read, clock=time.clock)
    governor = Governor(budget=budget, degrader=Degrader(DegradeConfig(), clock=time.clock), clock=time.clock)
    layer = InMemoryChannelLayer()
    reply = await layer.new_channel()
    runner = SessionRunner(session=LightSession("s"), layer=layer, reply_channel=reply,  # type: ignore[arg-type]
                           media="ws", worker_id="w")
    caplog.set_level(logging.WARNING, logger="avatar_runtime.worker.governor")

    async def second(host: float) -> bool:
        time.run(1.0, host=host, process=0.4)
        await governor.tick({"s": runner})
        return bool(runner.session.answer_recording_paused)

    assert [await second(host=0.8) for _ in range(3)] == [False] * 3  # room for two more sessions (cost ~0.45)
    # Under the 1.7-core target, but no room for one more session: QA recording gives way first,
    # before a kiosk is turned away for it.
    assert [await second(host=1.4) for _ in range(3)][-1]
    assert governor.admits(1) is False and governor.headroom is not None and governor.headroom > 0
    assert "answer recording for QA paused" in caplog.text
    assert all([await second(host=1.9) for _ in range(3)])  # over the target: still paused
    assert all([await second(host=1.1) for _ in range(3)])  # room for one session, not yet for one and a half
    assert not [await second(host=0.8) for _ in range(3)][-1]
    assert "answer recording for QA resumed" in caplog.text
