"""The gateway pacer and the queue replicas share through PostgreSQL: one cap on calls
in flight, one interval between call starts, and turns taken by user across replicas."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest

from bot.generation.pacing import CallPacer
from bot.jobs import Journal, Limits
from bot.jobs.fair_queue import Unit
from bot.settings import PostgresURL
from tests.fakes import journal_job

CONCURRENCY, INTERVAL, CALL = 2, 0.2, 0.5


@pytest.fixture
async def pacers(postgres_url: str) -> AsyncIterator[list[CallPacer]]:
    journals = await asyncio.gather(
        *(Journal.open(PostgresURL(postgres_url), lease_seconds=3) for _ in range(2))
    )
    shared = [j.shared_pacer(CONCURRENCY, INTERVAL) for j in journals]
    yield [p for p in shared if p is not None]
    await asyncio.gather(*(j.close() for j in journals))


class Calls:
    """Calls made through the pacers, as the gateway would see them."""

    def __init__(self) -> None:
        self.starts: list[tuple[float, str]] = []
        self.in_flight = self.most_in_flight = 0

    async def make(self, pacer: CallPacer, user: str) -> None:
        async with pacer.slot(user):
            self.starts.append((time.monotonic(), user))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await asyncio.sleep(CALL)
            self.in_flight -= 1


async def test_two_replicas_keep_one_cap_and_one_interval(pacers: list[CallPacer]) -> None:
    assert len(pacers) == 2
    calls = Calls()
    await asyncio.gather(*(calls.make(pacers[n % 2], f"U{n}") for n in range(10)))
    assert len(calls.starts) == 10
    assert calls.most_in_flight == CONCURRENCY
    moments = [at for at, _ in calls.starts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert min(gaps) >= INTERVAL - 0.05, gaps


async def test_users_take_turns_across_replicas(pacers: list[CallPacer]) -> None:
    calls = Calls()
    # One user's four calls line up first, on one replica; two others follow on both.
    first = [asyncio.ensure_future(calls.make(pacers[0], "UBATCH")) for _ in range(4)]
    await asyncio.sleep(0.1)
    others = [calls.make(pacers[1], "UONE"), calls.make(pacers[0], "UTWO")]
    await asyncio.gather(*first, *others)
    order = [user for _, user in calls.starts]
    assert order[0] == "UBATCH"
    assert set(order[1:3]) == {"UONE", "UTWO"}, order  # the others' turns before its second
    assert order[3:] == ["UBATCH"] * 3


async def test_the_shared_queue_takes_turns_by_user_across_replicas(postgres_url: str) -> None:
    first, second = await asyncio.gather(
        *(Journal.open(PostgresURL(postgres_url), lease_seconds=3) for _ in range(2))
    )
    try:
        queues = [j.shared_queue(CONCURRENCY, 0) for j in (first, second)]
        assert queues[0] is not None
        assert queues[1] is not None
        jobs = {}
        for user, journal, count in (
            ("UBATCH", first, 3),
            ("UONE", second, 1),
            ("UTWO", first, 1),
        ):
            made = journal_job(user, count=3)
            await journal.admit(made, [made.key], Limits(max_queued_per_user=9))
            jobs[user] = made.id
            queue = queues[0] if journal is first else queues[1]
            for _ in range(count):
                await queue.put(Unit(user, made.id, None))  # type: ignore[arg-type]
        # Places count every replica's line: one user's turn, then the next's.
        assert await queues[1].ahead(jobs["UONE"], 0) == 1
        assert await queues[0].ahead(jobs["UTWO"], 0) == 2
        assert (await queues[0].get()).user == "UBATCH"
        with pytest.raises(TimeoutError):  # the other replica's user is next: not this one's
            await asyncio.wait_for(queues[0].get(), 0.5)
        assert (await queues[1].get()).user == "UONE"
        assert [(await queues[0].get()).user for _ in range(3)] == ["UTWO", "UBATCH", "UBATCH"]
        assert len(queues[0]) == len(queues[1]) == 0
    finally:
        await asyncio.gather(first.close(), second.close())
