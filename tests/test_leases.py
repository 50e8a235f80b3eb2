"""Leases on jobs, at the store: who runs a job, for how long, and who takes it over.

PostgreSQL: two journals on one database are two replicas. SQLite serves one
process, so "another replica" is the next process to open the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.jobs import Job, Journal, Limits
from bot.jobs.leases import LeaseLost
from bot.settings import PostgresURL
from tests.fakes import journal_job

LEASE = 1.0


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[Journal, Journal]]:
    first, second = await asyncio.gather(
        Journal.open(PostgresURL(postgres_url), lease_seconds=LEASE),
        Journal.open(PostgresURL(postgres_url), lease_seconds=LEASE),
    )
    yield first, second
    await asyncio.gather(first.close(), second.close())


async def admitted(journal: Journal, count: int = 1) -> list[Job]:
    jobs = [journal_job(f"U{n}") for n in range(count)]
    for j in jobs:
        await journal.admit(j, [j.key], Limits())
    return jobs


async def test_a_live_lease_is_not_taken_and_a_lapsed_one_is(
    replicas: tuple[Journal, Journal],
) -> None:
    holder, other = replicas
    (held,) = await admitted(holder)
    assert await other.take_over() == []
    await asyncio.sleep(LEASE * 0.6)
    await holder.renew_leases()
    await asyncio.sleep(LEASE * 0.6)
    assert await other.take_over() == []  # renewed: still the holder's
    await asyncio.sleep(LEASE * 1.1)
    (taken,) = await other.take_over()
    assert taken.job.id == held.id
    assert await holder.take_over() == []  # the taker's lease is live now


async def test_a_process_that_lost_its_lease_neither_uploads_nor_writes(
    replicas: tuple[Journal, Journal],
) -> None:
    holder, other = replicas
    (held,) = await admitted(holder)
    await asyncio.sleep(LEASE * 1.1)
    assert [e.job.id for e in await other.take_over()] == [held.id]
    await holder.update(held.id, "failed", error="late")  # ignored: not its job any more
    assert (entry := await other.get(held.id)) is not None
    assert entry.state == "queued"
    with pytest.raises(LeaseLost):
        await holder.start_upload(held.id, "C1", None, [])
    with pytest.raises(LeaseLost):  # nor marks it for sharing (the at-most-once point)
        await holder.mark_sharing(held.id)
    assert await other.start_upload(held.id, "C1", None, []) is None


async def test_released_leases_are_taken_at_once(replicas: tuple[Journal, Journal]) -> None:
    holder, other = replicas
    jobs = await admitted(holder, 3)
    await holder.release(jobs[0].id)
    assert [e.job.id for e in await other.take_over()] == [jobs[0].id]
    await holder.release_leases()
    assert sorted(e.job.id for e in await other.take_over()) == sorted(j.id for j in jobs[1:])


async def test_replicas_taking_over_at_once_split_the_work(
    replicas: tuple[Journal, Journal],
) -> None:
    holder, other = replicas
    jobs = await admitted(holder, 30)
    await holder.release_leases()
    taken = await asyncio.gather(*(r.take_over() for r in (holder, other, holder, other)))
    ids = [e.job.id for batch in taken for e in batch]
    assert sorted(ids) == sorted(j.id for j in jobs)  # each job to exactly one replica


async def test_finished_jobs_hold_no_lease(replicas: tuple[Journal, Journal]) -> None:
    holder, other = replicas
    done, cancelled = await admitted(holder, 2)
    await holder.finish_delivered(done.id, images=1, size="1K", attempts=1, logids=[], file_ids=[])
    await holder.update(cancelled.id, "cancelled")
    await holder.release_leases()
    assert await other.take_over() == []
    await other.mark_deleted(done.id)  # any replica may act on a finished job
    assert (entry := await holder.get(done.id)) is not None
    assert entry.deleted


async def test_the_next_sqlite_process_takes_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "banana.db"
    first = await Journal.open(path, lease_seconds=600)
    (left,) = await admitted(first)
    await first.close()  # the file lock says its holder is gone, whatever the lease
    second = await Journal.open(path, lease_seconds=600)
    try:
        assert [e.job.id for e in await second.take_over()] == [left.id]
        assert await second.take_over() == []
        assert await second.start_upload(left.id, "C1", None, []) is None
    finally:
        await second.close()
