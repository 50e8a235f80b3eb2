"""The gateway pacer replicas share through PostgreSQL: one cap on calls in flight,
one interval between call starts, and turns taken by user across replicas."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest

from bot.generation.pacing import CallPacer
from bot.jobs import Journal
from bot.settings import PostgresURL

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
    assert min(gaps) >= INTERVAL - 0.02, gaps


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
