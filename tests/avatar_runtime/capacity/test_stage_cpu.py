"""CPU per stage: counted in the thread that does the work, including work handed to inference threads."""
import asyncio
import time

import pytest

from avatar_runtime.capacity.stage_cpu import StageCpu, cpu_stage
from avatar_runtime.inference_threads import in_inference_thread


def spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def test_work_in_threads_counts_to_its_stage_and_not_to_others() -> None:
    cpu = StageCpu()
    await asyncio.to_thread(cpu.measured("rendering", spin), 0.05)
    with cpu_stage(cpu, "recognition"):
        await in_inference_thread(spin, 0.05)
    await in_inference_thread(spin, 0.05)  # outside any stage: nobody's
    used = cpu.snapshot()
    assert 0.05 <= used["rendering"] < 0.2 and 0.05 <= used["recognition"] < 0.2
    assert used["synthesis"] == 0.0 and abs(cpu.total - used["rendering"] - used["recognition"]) < 1e-9


async def test_a_stage_belongs_to_its_task_only() -> None:
    cpu, other = StageCpu(), StageCpu()

    async def synthesise() -> None:
        with cpu_stage(cpu, "synthesis"):
            await in_inference_thread(spin, 0.03)

    async def recognise() -> None:
        with cpu_stage(other, "recognition"):
            await in_inference_thread(spin, 0.03)

    await asyncio.gather(synthesise(), recognise())
    assert cpu.snapshot()["recognition"] == 0.0 and cpu.snapshot()["synthesis"] >= 0.03
    assert other.snapshot()["synthesis"] == 0.0 and other.snapshot()["recognition"] >= 0.03


def test_an_unknown_stage_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown stage"):
        StageCpu().add("telepathy", 1.0)


async def test_work_of_a_native_pool_beside_the_calling_thread_counts_to_the_stage() -> None:
    """Like CTranslate2: the calling thread waits while the pool's threads compute."""
    import threading

    def pooled() -> None:
        workers = [threading.Thread(target=spin, args=(0.1,)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    cpu = StageCpu()
    with cpu_stage(cpu, "recognition"):
        await in_inference_thread(pooled)
    assert cpu.snapshot()["recognition"] >= 0.19  # both pool threads' work, though the caller only waited
