from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.jobs import Admission, Journal, Limits
from bot.jobs.limits import day_start
from bot.settings import PostgresURL
from tests.fakes import journal_job


@pytest.fixture
async def journal(journal_target: Path | PostgresURL) -> AsyncIterator[Journal]:
    opened = await Journal.open(journal_target)
    yield opened
    await opened.close()


async def test_duplicates_are_refused_by_any_key(journal: Journal) -> None:
    first = journal_job()
    assert (await journal.admit(first, [first.key, "message:C1:1.0"], Limits())).admission is (
        Admission.ACCEPTED
    )
    again = journal_job()
    decision = await journal.admit(again, ["message:C1:1.0"], Limits())
    assert decision.admission is Admission.DUPLICATE
    assert not await journal.remember([first.key])
    assert await journal.remember(["event:new"])


async def test_queue_cap_per_user_and_admins_exempt(journal: Journal) -> None:
    limits = Limits(max_queued_per_user=2, admins=frozenset({"UADMIN"}))
    outcomes = [
        (await journal.admit(j, [j.key], limits)).admission
        for j in (journal_job(), journal_job(), journal_job(), journal_job("U2"))
    ]
    assert outcomes == [
        Admission.ACCEPTED,
        Admission.ACCEPTED,
        Admission.TOO_MANY_QUEUED,
        Admission.ACCEPTED,
    ]
    for _ in range(4):
        admin = journal_job("UADMIN")
        assert (await journal.admit(admin, [admin.key], limits)).admission is Admission.ACCEPTED


async def test_daily_quota_counts_delivered_and_reserved_not_failed(journal: Journal) -> None:
    limits = Limits(max_queued_per_user=10, daily_quota=5)
    delivered, failed, running = journal_job(count=2), journal_job(count=3), journal_job(count=2)
    for j in (delivered, failed):
        assert (await journal.admit(j, [j.key], limits)).admission is Admission.ACCEPTED
    await journal.finish_delivered(
        delivered.id, images=2, size="2K", attempts=2, logids=["l"], file_ids=["F1"]
    )
    await journal.update(failed.id, "failed", error="declined")
    assert (await journal.admit(running, [running.key], limits)).admission is Admission.ACCEPTED
    decision = await journal.admit(journal_job(count=2), [], limits)
    assert decision.admission is Admission.OVER_QUOTA
    assert decision.used_today == 4  # 2 delivered + 2 still running; the failed 3 are free
    assert (await journal.admit(journal_job(count=1), [], limits)).admission is Admission.ACCEPTED
    usage = await journal.usage("U1")
    assert usage.images_today == 2
    assert usage.cost_today == pytest.approx(0.202)
    assert usage.active == 2


async def test_unfinished_jobs_come_back_with_their_status_line(journal: Journal) -> None:
    queued = journal_job()
    await journal.admit(queued, [queued.key], Limits())
    await journal.update(queued.id, "running", status_channel="C1", status_ts="9.1")
    (entry,) = await journal.unfinished()
    assert entry.job == queued
    assert (entry.state, entry.status_channel, entry.status_ts) == ("running", "C1", "9.1")


async def test_history_lists_newest_request_first_whatever_finished_first(
    journal: Journal,
) -> None:
    older, newer = journal_job(), journal_job()
    for j in (older, newer):
        await journal.admit(j, [j.key], Limits())
    # Side-by-side jobs finish in either order; the list follows the asking.
    for j in (newer, older):
        await journal.finish_delivered(
            j.id, images=1, size="1K", attempts=1, logids=["l"], file_ids=["F"]
        )
    assert [entry.job.id for entry in await journal.history("U1")] == [newer.id, older.id]


async def test_edits_finishing_together_in_one_thread_get_distinct_versions(
    journal: Journal,
) -> None:
    jobs = [journal_job() for _ in range(5)]
    for j in jobs:
        await journal.admit(j, [j.key], Limits(max_queued_per_user=5))
        await journal.update(j.id, "running", status_channel="C1", result_thread="1.0")
    versions = await asyncio.gather(*(journal.start_upload(j.id, "C1", "1.0", ["l"]) for j in jobs))
    assert sorted(v or 0 for v in versions) == [1, 2, 3, 4, 5]
    top_level = journal_job()
    await journal.admit(top_level, [top_level.key], Limits(max_queued_per_user=9))
    assert await journal.start_upload(top_level.id, "C1", None, []) is None  # not in a thread


def test_the_quota_day_starts_at_midnight_utc() -> None:
    moment = dt.datetime(2026, 11, 26, 23, 59, tzinfo=dt.UTC).timestamp()
    assert day_start(moment) == dt.datetime(2026, 11, 26, tzinfo=dt.UTC).timestamp()


async def test_a_chosen_language_is_kept_per_user_until_cleared(
    journal_target: Path | PostgresURL,
) -> None:
    journal = await Journal.open(journal_target)
    try:
        assert await journal.language("U1") is None
        await journal.set_language("U1", "zh-CN")
        await journal.set_language("U2", "en")
        await journal.set_language("U1", "en")
        await journal.set_language("U1", "zh-CN")
    finally:
        await journal.close()
    reopened = await Journal.open(journal_target)  # kept across restarts
    try:
        assert await reopened.language("U1") == "zh-CN"
        assert await reopened.language("U2") == "en"
        assert await reopened.languages(most=2) == {"U1": "zh-CN", "U2": "en"}  # one read
        await reopened.set_language("U1", None)  # `language auto`: follow Slack again
        assert await reopened.language("U1") is None
        assert await reopened.language("U2") == "en"
        assert await reopened.languages(most=2) == {"U2": "en"}
        await reopened.set_language("U3", "en")
        assert await reopened.languages(most=1) is None  # too many to hold: read each
    finally:
        await reopened.close()
