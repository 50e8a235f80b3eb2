"""The PostgreSQL store against a real server: atomic across replicas, versioned schema.

"Two replicas" here are two journals, each with its own connection pool, on
one database: every race below is run through both at once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import psycopg
import pytest

from bot.jobs import Admission, Job, Journal, Limits
from bot.jobs.journal import StoreError
from bot.jobs.store.postgres_schema import STEPS
from bot.settings import PostgresURL
from tests.fakes import journal_job
from tests.harness import free_port


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[Journal, Journal]]:
    first, second = await asyncio.gather(
        Journal.open(PostgresURL(postgres_url)), Journal.open(PostgresURL(postgres_url))
    )
    yield first, second
    await asyncio.gather(first.close(), second.close())


# Several rounds: each pool opens more connections under the first bursts, so
# later rounds race on many connections at once.
ROUNDS = [f"URACE{n}" for n in range(6)]


async def admit_everywhere(
    replicas: tuple[Journal, Journal],
    jobs: list[Job],
    limits: Limits,
    keys: list[str] | None = None,
) -> list[Admission]:
    """Admit all ``jobs`` at once, alternating between the two replicas."""
    decisions = await asyncio.gather(
        *(
            replicas[n % 2].admit(j, [j.key] if keys is None else keys, limits)
            for n, j in enumerate(jobs)
        )
    )
    return [d.admission for d in decisions]


async def test_the_queue_cap_holds_when_one_user_hits_both_replicas_at_once(
    replicas: tuple[Journal, Journal],
) -> None:
    limits = Limits(max_queued_per_user=3, daily_quota=100)
    for user in ROUNDS:
        outcomes = await admit_everywhere(replicas, [journal_job(user) for _ in range(12)], limits)
        assert outcomes.count(Admission.ACCEPTED) == 3, user
        assert outcomes.count(Admission.TOO_MANY_QUEUED) == 9, user
        assert (await replicas[1].usage(user)).active == 3


async def test_the_daily_quota_holds_when_one_user_hits_both_replicas_at_once(
    replicas: tuple[Journal, Journal],
) -> None:
    limits = Limits(max_queued_per_user=100, daily_quota=9)
    for user in ROUNDS:
        outcomes = await admit_everywhere(
            replicas, [journal_job(user, 2) for _ in range(12)], limits
        )
        assert outcomes.count(Admission.ACCEPTED) == 4, user  # 8 images; a fifth makes 10
        assert outcomes.count(Admission.OVER_QUOTA) == 8, user


async def test_one_slack_retry_delivered_to_both_replicas_makes_one_job(
    replicas: tuple[Journal, Journal],
) -> None:
    # Different users and an admin too, so no per-user lock lines them up: only
    # the key's uniqueness decides.
    jobs = [journal_job(f"U{n}") for n in range(8)] + [journal_job("UADMIN")]
    limits = Limits(admins=frozenset({"UADMIN"}))
    outcomes = await admit_everywhere(replicas, jobs, limits, keys=["event:E1", "message:C1:1.0"])
    assert outcomes.count(Admission.ACCEPTED) == 1
    assert outcomes.count(Admission.DUPLICATE) == len(jobs) - 1
    seen = await asyncio.gather(*(r.remember(["message:C1:1.0"]) for r in replicas))
    assert seen == [False, False]
    fresh = await asyncio.gather(*(r.remember(["event:E2"]) for r in replicas))
    assert sorted(fresh) == [False, True]


async def test_a_duplicate_records_none_of_its_keys(replicas: tuple[Journal, Journal]) -> None:
    first = replicas[0]
    assert await first.remember(["event:old"])
    assert not await first.remember(["event:new", "event:old"])
    assert await first.remember(["event:new"])  # not recorded by the refused call


async def test_edits_finishing_on_both_replicas_get_distinct_versions(
    replicas: tuple[Journal, Journal],
) -> None:
    limits = Limits(max_queued_per_user=100)
    for thread in ("1.0", "2.0", "3.0", "4.0"):
        jobs = [journal_job() for _ in range(12)]
        for n, j in enumerate(jobs):  # each replica finishes the jobs it holds
            await replicas[n % 2].admit(j, [j.key], limits)
            await replicas[n % 2].update(j.id, "running", status_channel="C1", result_thread=thread)
        versions = await asyncio.gather(
            *(replicas[n % 2].start_upload(j.id, "C1", thread, ["l"]) for n, j in enumerate(jobs))
        )
        assert sorted(v or 0 for v in versions) == list(range(1, 13)), thread


async def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    journals = await asyncio.gather(*(Journal.open(PostgresURL(postgres_url)) for _ in range(4)))
    await asyncio.gather(*(j.close() for j in journals))
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cursor = await conn.execute("SELECT version FROM schema_version ORDER BY version")
        assert [row[0] for row in await cursor.fetchall()] == list(range(1, len(STEPS) + 1))


async def test_a_database_from_a_newer_release_is_refused(postgres_url: str) -> None:
    journal = await Journal.open(PostgresURL(postgres_url))
    await journal.close()
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(StoreError, match=r"schema version 99, newer than this banana-bot"):
        await Journal.open(PostgresURL(postgres_url))


async def test_an_unreachable_server_is_one_line_naming_banana_db_without_password() -> None:
    url = f"postgresql://banana:pw-secret-6@127.0.0.1:{free_port()}/banana"
    with pytest.raises(StoreError) as caught:
        await Journal.open(PostgresURL(url))
    message = str(caught.value)
    assert message.startswith("cannot reach the PostgreSQL database at BANANA_DB=")
    assert "pw-secret-6" not in message
    assert "\n" not in message


async def test_a_malformed_url_is_refused_naming_banana_db() -> None:
    url = "postgresql://127.0.0.1/x?colour=yellow"
    with pytest.raises(
        StoreError, match=re.escape(f"BANANA_DB={url} is not a valid PostgreSQL URL")
    ):
        await Journal.open(PostgresURL(url))
