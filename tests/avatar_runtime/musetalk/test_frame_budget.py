"""The render server's frame budget (``capacity.frame_budget``) over a real (tiny, CPU) server: a
session is admitted while the frames/s the server measured hold one more session's need."""
import pytest

from avatar_runtime.capacity.frame_budget import FrameBudget, FrameBudgetConfig
from avatar_runtime.render.musetalk.audio_features import Utterance
from avatar_runtime.render.musetalk.prepare import PreparedAvatar
from avatar_runtime.render.musetalk.scheduler import FrameJob, JobKind
from avatar_runtime.render.musetalk.server import MuseTalkServer
from avatar_runtime.render.musetalk.weights import MuseTalkModels
from avatar_runtime.worker.governor import Governor
from avatar_runtime.worker.registry import WorkerInfo, workers_with_room

from .conftest import speech


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def render(server: MuseTalkServer, avatar: PreparedAvatar, frames: int, idle: bool = False) -> None:
    utterance = Utterance()
    utterance.append(speech(0.5, seed=3))
    utterance.flush()
    server.process([FrameJob(session="s", avatar=avatar.key, frame=0, deadline=0.0, kind=JobKind.RENDER,
                             utterance=utterance, utterance_frame=f, idle=idle) for f in range(frames)])


def test_an_unmeasured_server_sets_no_frame_budget(models: MuseTalkModels) -> None:
    server = MuseTalkServer(models)
    budget = FrameBudget(sustained=server.sustained_fps, rendered=lambda: server.live_rendered)
    assert server.sustained_fps() is None and budget.room(50) is None and budget.admits(50)


def test_sessions_are_admitted_while_the_measured_rate_holds_one_more_and_their_need_is_learned(
        models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    server = MuseTalkServer(models)
    server.attach(avatar)
    render(server, avatar, 4)
    sustained = server.sustained_fps()
    assert sustained is not None and sustained == pytest.approx(server.stats.rendered / server.stats.busy_seconds)
    clock = Clock()
    config = FrameBudgetConfig(initial_fps=sustained / 4.5, min_fps=0.01, max_fps=100.0, target=1.0, window=2.0)
    budget = FrameBudget(config, sustained=server.sustained_fps, rendered=lambda: server.live_rendered, clock=clock)
    assert [budget.admits(n) for n in range(6)] == [True, True, True, True, False, False]

    budget.sample(2)
    render(server, avatar, 3, idle=True)  # answers rendered ahead are not what sessions need
    render(server, avatar, 4)
    clock.now = 2.0
    need = budget.need
    budget.sample(2)
    assert budget.need == pytest.approx(need + 0.2 * (4 / 2.0 / 2 - need))  # 1 frame/s per session observed

    budget.admitted()  # a session just admitted: its silent first seconds do not teach the need
    render(server, avatar, 2)
    clock.now = 3.0
    learned = budget.need
    budget.sample(3)
    assert budget.need == learned


def test_the_governor_refuses_by_frames_but_always_serves_the_guaranteed_sessions(
        models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    server = MuseTalkServer(models)
    server.attach(avatar)
    render(server, avatar, 2)
    sustained = server.sustained_fps()
    assert sustained is not None
    budget = FrameBudget(FrameBudgetConfig(initial_fps=sustained * 0.6, min_fps=0.0, max_fps=sustained, target=1.0),
                         sustained=server.sustained_fps, rendered=lambda: server.live_rendered)
    governor = Governor(budget=None, degrader=None, frames=budget, min_sessions=1)
    assert governor.active and governor.admits(0) and not governor.admits(1)
    assert governor.frame_room(1) == pytest.approx(sustained * 0.4) and governor.session_fps == budget.need


def test_the_registry_places_by_the_scarcer_of_cpu_and_frames() -> None:
    gpu_full = WorkerInfo("gpu-full", "c1", capacity=32, load=16, seen=0.0, frame_room=10.0, session_fps=21.5)
    gpu_roomy = WorkerInfo("gpu-roomy", "c2", capacity=32, load=8, seen=0.0, headroom=8.0, session_cost=0.2,
                           frame_room=86.0, session_fps=21.5)  # 40 sessions by CPU, 4 by frames
    cpu_tight = WorkerInfo("cpu-tight", "c3", capacity=4, load=0, seen=0.0, headroom=1.3, session_cost=0.6)
    assert not gpu_full.has_room
    assert [w.worker_id for w in workers_with_room([gpu_full, cpu_tight, gpu_roomy])] == ["gpu-roomy", "cpu-tight"]
