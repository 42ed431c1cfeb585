"""Recording answers for lip-sync QA is background work: its thread and the encoder's own threads
give way to the media and to recognition (``common.priority``)."""
import asyncio
import contextlib
import os
from pathlib import Path

import numpy as np

from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.pipeline.recording import AnswerRecorder
from common.priority import BACKGROUND_NICE


def _threads() -> dict[int, int]:
    """Thread id -> nice value of every thread of this process."""
    nice = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            nice[int(task.name)] = os.getpriority(os.PRIO_PROCESS, int(task.name))
    return nice


def test_the_recording_and_its_encoder_threads_run_at_background_priority() -> None:
    before = _threads()
    seen: dict[int, int] = {}

    async def record() -> bytes | None:
        recorder = AnswerRecorder(fps=25, sample_rate=16000, max_seconds=5.0, label="test")
        rng = np.random.default_rng(0)
        for index in range(30):
            image = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
            recorder.add(VideoFrame(image, index / 25, np.zeros(640, np.float32), 16000, True))
            await asyncio.sleep(0.01)
            seen.update(_threads())
        return await recorder.finish()

    clip = asyncio.run(record())
    assert clip is not None and len(clip) > 1000
    started = {tid: nice for tid, nice in seen.items() if tid not in before}
    assert started, "the recording started no thread"
    assert all(nice >= BACKGROUND_NICE for nice in started.values()), started
