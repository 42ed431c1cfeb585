"""A TaskOwner's end leaves none of its tasks running, including those its tasks start on their way out."""
import asyncio

from avatar_runtime.pipeline.tasks import TaskOwner


async def test_a_task_started_by_one_being_cancelled_is_cancelled_too() -> None:
    owner = TaskOwner("session test")
    ran: list[str] = []

    async def saves_a_clip() -> None:
        ran.append("clip started")
        await asyncio.sleep(3600)

    async def answer() -> None:
        try:
            await asyncio.sleep(3600)
        finally:  # on its way out, as an answer hands its clip on
            owner.spawn(saves_a_clip(), "answer-clip")

    owner.spawn(answer(), "answer")
    await asyncio.sleep(0)
    await owner.cancel_all(timeout=1.0)
    assert owner.running == 0
    assert [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("session test")] == []
    assert ran == []  # cancelled before it ran


async def test_a_closed_owner_cancels_what_is_spawned_before_it_runs() -> None:
    owner = TaskOwner("session closed")
    await owner.cancel_all()
    ran: list[str] = []

    async def late() -> None:
        ran.append("ran")

    task = owner.spawn(late(), "late")
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and ran == [] and owner.running == 0
