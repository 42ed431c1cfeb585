import time

import numpy as np
import pytest
import torch

from avatar_runtime.render.musetalk.audio_features import Utterance, clip_windows
from avatar_runtime.render.musetalk.compose import composite
from avatar_runtime.render.musetalk.engine import EngineSettings, FrameEngine
from avatar_runtime.render.musetalk.prepare import PreparedAvatar
from avatar_runtime.render.musetalk.scheduler import EdfQueue, FrameJob, JobKind, batch_limit
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels

from .conftest import speech


def _job(deadline: float, session: str = "s", **extra: object) -> FrameJob:
    return FrameJob(session=session, avatar="a", frame=0, deadline=deadline, kind=JobKind.RENDER, **extra)  # type: ignore[arg-type]


def test_queue_serves_earliest_deadlines_across_sessions_within_the_horizon() -> None:
    now = 100.0
    queue = EdfQueue(horizon=1.0, clock=lambda: now)
    jobs = [_job(100.5, "a"), _job(100.2, "b"), _job(100.9, "a"), _job(102.0, "b"), _job(100.1, "c")]
    jobs[4].cancelled = True
    for job in jobs:
        queue.push(job)
    assert queue.take(lambda earliest: 2, timeout=0) == [jobs[1], jobs[0]]  # the cancelled one is skipped
    assert queue.take(lambda earliest: 8, timeout=0) == [jobs[2]]  # 102.0 is beyond the horizon
    started = time.monotonic()
    assert queue.take(lambda earliest: 8, timeout=0.05) == []
    assert time.monotonic() - started >= 0.04


def test_engine_pads_to_fixed_sizes(models: MuseTalkModels) -> None:
    engine = FrameEngine(models, EngineSettings(batch_sizes=(1, 2, 4, 8)))
    assert [engine.padded_size(n) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]
    assert engine.batch_size(3) == 3  # no graphs on the CPU: no padding either
    with pytest.raises(ValueError, match="exceeds"):
        engine.padded_size(9)


def test_batch_limit_meets_the_earliest_deadline_when_it_can() -> None:
    costs = {1: 0.005, 8: 0.02, 16: 0.035, 32: 0.07}
    assert batch_limit(costs, slack=0.03, max_seconds=0.05, fallback=32) == 8
    assert batch_limit(costs, slack=0.04, max_seconds=0.05, fallback=32) == 16
    assert batch_limit(costs, slack=1.0, max_seconds=0.05, fallback=32) == 16  # never beyond max_seconds
    assert batch_limit(costs, slack=-0.1, max_seconds=0.05, fallback=32) == 16  # late already: clear the backlog
    assert batch_limit({}, slack=0.0, max_seconds=0.05, fallback=32) == 32  # CPU: no costs measured


def test_one_batch_renders_frames_of_several_sessions_like_the_offline_path(
        models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    server = MuseTalkServer(models)
    server.attach(avatar)
    utterances, jobs = [], []
    for session in range(3):
        audio = speech(0.5, seed=session)
        utterance = Utterance()
        utterance.append(audio)
        utterance.flush()
        utterances.append((utterance, audio))
        for frame in (0, 4):
            jobs.append(FrameJob(session=f"s{session}", avatar=avatar.key, frame=(frame + session) % 3, deadline=0.0,
                                 kind=JobKind.RENDER, utterance=utterance, utterance_frame=frame))
    fade = FrameJob(session="s0", avatar=avatar.key, frame=1, deadline=0.0, kind=JobKind.FADE, fade_from=jobs[1],
                    fade_weight=0.5)
    server.process([*jobs, fade])

    assert server.stats.batches == 1 and server.stats.rendered == 6 and server.stats.fades == 1
    assert server.stats.encoded_segments == 3  # one Whisper batch, one segment per utterance
    device_avatar = server._avatars[avatar.key]
    with torch.inference_mode():
        for job in jobs:
            utterance, audio = next((u, a) for u, a in utterances if u is job.utterance)
            window = clip_windows(models.audio, audio)[job.utterance_frame]
            latent = torch.from_numpy(avatar.latents[job.frame]).float()
            face = server.engine.forward(latent[None], window[None])
            expected = composite(device_avatar, torch.tensor([job.frame]), face, torch.tensor([1.0]))[0].numpy()
            crop = job.future.result(timeout=0)
            assert crop is not None and np.abs(crop.astype(int) - expected).max() <= 1
    faded = fade.future.result(timeout=0)
    assert faded is not None and not np.array_equal(faded, jobs[1].future.result(timeout=0))


def test_a_failing_batch_fails_its_jobs_not_the_server(models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    server = MuseTalkServer(models)
    server.attach(avatar)
    job = FrameJob(session="s", avatar=avatar.key, frame=0, deadline=0.0, kind=JobKind.RENDER)  # no utterance
    server.process([job])
    with pytest.raises(ValueError, match="utterance"):
        job.future.result(timeout=0)


def test_the_pipelined_thread_hands_out_every_batch_like_the_serial_one(models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    utterance = Utterance()
    utterance.append(speech(0.5, seed=7))
    utterance.flush()
    results = []
    for pipeline in (False, True):
        server = MuseTalkServer(models, ServerSettings(pipeline=pipeline, freeze_gc=False))
        server.attach(avatar)
        jobs = [FrameJob(session="s", avatar=avatar.key, frame=i % 3, deadline=time.monotonic() + 0.01 * i,
                         kind=JobKind.RENDER, utterance=utterance, utterance_frame=i) for i in range(6)]
        server.start()
        for job in jobs:
            server.submit(job)
        results.append([job.future.result(timeout=120) for job in jobs])
        server.stop()
    for serial, pipelined in zip(*results, strict=True):
        assert serial is not None and pipelined is not None and np.array_equal(serial, pipelined)
