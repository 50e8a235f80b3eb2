import asyncio

import pytest

from bot.jobs.fair_queue import FairQueue, QueueClosed, Unit


async def fill(queue: FairQueue[int], plan: list[tuple[str, str, int]]) -> None:
    for user, job, count in plan:
        for index in range(count):
            await queue.put(Unit(user, job, index))


async def test_round_robin_between_users() -> None:
    queue: FairQueue[int] = FairQueue()
    await fill(queue, [("A", "a1", 4), ("A", "a2", 2), ("B", "b1", 1), ("C", "c1", 2)])
    taken = [(await queue.get()).job_id for _ in range(9)]
    assert taken == ["a1", "b1", "c1", "a1", "c1", "a1", "a1", "a2", "a2"]


async def test_position_and_remove() -> None:
    queue: FairQueue[int] = FairQueue()
    await fill(queue, [("A", "a1", 3), ("B", "b1", 1), ("A", "a2", 1)])
    assert queue.ahead_of("a1") == 0
    assert queue.ahead_of("b1") == 1
    assert queue.ahead_of("a2") == 4
    assert [u.job_id for u in queue.remove_job("a1")] == ["a1"] * 3
    assert queue.ahead_of("a2") == 0  # A keeps its place in the rotation
    assert queue.ahead_of("b1") == 1
    assert queue.ahead_of("a1") is None
    assert len(queue) == 2


async def test_close_wakes_waiters_and_returns_the_rest() -> None:
    queue: FairQueue[int] = FairQueue()
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert await queue.close() == []
    with pytest.raises(QueueClosed):
        await waiter
    with pytest.raises(QueueClosed):
        await queue.put(Unit("A", "a", 0))
