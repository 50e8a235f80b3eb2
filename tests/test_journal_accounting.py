"""Stats, retention, forgetting and budget notices at the Journal level, against both
stores (``journal_target``): counts agree with the journal's rows, stay right once
rows are pruned or forgotten, and the journal stays bounded."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.generation.model import estimated_cost
from bot.jobs import Admission, Job, Journal, Limits
from bot.jobs.accounting import percentile
from bot.jobs.budget import BudgetWatch, Notice, next_month
from bot.jobs.limits import day_start, month_start
from bot.jobs.retention import DAY, Retention
from bot.options import ImageOptions
from bot.settings import PostgresURL

NOW = time.time()
TODAY = day_start(NOW)


@pytest.fixture
async def journal(journal_target: Path | PostgresURL) -> AsyncIterator[Journal]:
    opened = await Journal.open(journal_target)
    yield opened
    await opened.close()


@dataclass(frozen=True)
class Made:
    job: Job
    state: str
    images: int = 0
    error: str | None = None


def a_job(user: str, channel: str = "C1", count: int = 1, size: str = "1K", **kw: float) -> Job:
    job = Job(
        key="",
        user=user,
        channel=channel,
        prompt=f"a secret prompt of {user}",
        options=ImageOptions("1:1", size, count),
        source="command",
        **kw,  # type: ignore[arg-type]
    )
    return Job(**{**job.__dict__, "key": f"trigger:{job.id}"})


async def finish(journal: Journal, made: Made, finished_at: float) -> None:
    job = made.job
    admitted = await journal.admit(job, [job.key], Limits(daily_quota=10_000))
    assert admitted.admission is Admission.ACCEPTED
    if made.state == "delivered":
        await journal.finish_delivered(
            job.id, images=made.images, size=job.options.size, attempts=1, logids=[], file_ids=[]
        )
    elif made.state != "queued":
        await journal.update(job.id, made.state, error=made.error)  # type: ignore[arg-type]
    if made.state != "queued":
        await journal.update(job.id, finished_at=finished_at)


def a_history() -> list[tuple[Made, float]]:
    """Requests over five weeks: delivered, declined, failed, cancelled, interrupted."""
    declined = "Declined: the model returned no image (IMAGE_SAFETY)"
    made: list[tuple[Made, float]] = []
    for day in range(35):
        moment = TODAY - day * DAY + 60
        users = ["UALICE", "UBOB", f"UDAY{day % 12}"]
        for number, user in enumerate(users):
            size = "2K" if number == 1 else "1K"
            channel = f"C{(day + number) % 13}"
            job = a_job(user, channel, 2, size, created_at=moment - 20 - number)
            made.append((Made(job, "delivered", images=2 - (day % 2)), moment + number))
        made.append((Made(a_job("UBOB", created_at=moment), "failed", error=declined), moment))
        if day % 3 == 0:
            failed = Made(a_job("UCAROL", created_at=moment), "failed", error="RateLimited: 429")
            made.append((failed, moment))
        if day % 5 == 0:
            made.append((Made(a_job("UCAROL", created_at=moment), "cancelled"), moment))
            made.append((Made(a_job("UDAN", created_at=moment), "interrupted"), moment))
    return made


async def journal_with_a_history(journal: Journal) -> list[tuple[Made, float]]:
    history = a_history()
    for made, finished_at in history:
        await finish(journal, made, finished_at)
    running = a_job("UALICE", "C1", 3)
    await finish(journal, Made(running, "queued"), NOW)
    return history


def expected(history: list[tuple[Made, float]], since: float) -> dict[str, object]:
    """The numbers, worked out from what was written (not from the journal's SQL)."""
    window = [(m, at) for m, at in history if at >= since]
    delivered = [m for m, _ in window if m.state == "delivered"]
    ended = [m for m, _ in window if m.state in ("delivered", "failed", "interrupted")]
    users: dict[str, tuple[int, float]] = {}
    channels: dict[str, tuple[int, float]] = {}
    for m in delivered:
        cost = estimated_cost(m.job.options.size, m.images)
        for table, key in ((users, m.job.user), (channels, m.job.channel)):
            images, dollars = table.get(key, (0, 0.0))
            table[key] = (images + m.images, dollars + cost)
    declined = [m for m in ended if (m.error or "").startswith("Declined:")]
    return {
        "images": sum(m.images for m in delivered),
        "cost": sum(estimated_cost(m.job.options.size, m.images) for m in delivered),
        "users": users,
        "channels": channels,
        "requests": len(ended),
        "declined": len(declined),
        "failed": len(ended) - len(declined) - len(delivered),
    }


def top(tallies: object) -> list[tuple[str, int]]:
    """The ten with most images (then most cost, then by id), as the card ranks them."""
    assert isinstance(tallies, dict)
    ranked = sorted(tallies.items(), key=lambda kv: (-kv[1][0], -round(kv[1][1], 6), kv[0]))
    return [(who, images) for who, (images, _) in ranked[:10]]


async def times_to_image(journal: Journal, history: list[tuple[Made, float]], since: float) -> list:
    """Seconds from asking to the image, read back from the journal's own rows."""
    seconds = []
    for made, _ in history:
        entry = await journal.get(made.job.id)
        if entry and entry.state == "delivered" and (entry.finished_at or 0) >= since:
            seconds.append((entry.finished_at or 0) - entry.job.created_at)
    return seconds


@pytest.mark.parametrize("days", [1, 7, 30])
async def test_stats_agree_with_the_journal_rows(journal: Journal, days: int) -> None:
    history = await journal_with_a_history(journal)
    since = TODAY - (days - 1) * DAY
    stats = await journal.stats(since)
    want = expected(history, since)
    assert stats.images == want["images"]
    assert stats.cost == pytest.approx(want["cost"])
    assert [(t.who, t.images) for t in stats.by_user] == top(want["users"])
    assert [(t.who, t.images) for t in stats.by_channel] == top(want["channels"])
    assert (stats.requests, stats.declined, stats.failed) == (
        want["requests"],
        want["declined"],
        want["failed"],
    )
    assert stats.refusal_rate == pytest.approx(want["declined"] / want["requests"])  # type: ignore[operator]
    seconds = await times_to_image(journal, history, since)
    assert stats.p50 == pytest.approx(percentile(seconds, 0.5))
    assert stats.p95 == pytest.approx(percentile(seconds, 0.95))


async def test_pruning_and_forgetting_keep_every_count(journal: Journal) -> None:
    history = await journal_with_a_history(journal)
    windows = [TODAY, TODAY - 6 * DAY, TODAY - 29 * DAY]
    before = [await journal.stats(since) for since in windows]
    usage_before = await journal.usage("UBOB", NOW)
    spent_before = await journal.spent_since(month_start(NOW))

    pruned = await journal.prune(Retention(jobs=10 * DAY), now=NOW)
    assert pruned == sum(1 for _, at in history if at < NOW - 10 * DAY)
    forgotten = await journal.forget("UALICE")
    assert forgotten.in_progress == 1, "a running job is kept until it ends"
    assert forgotten.erased == sum(
        1 for m, at in history if m.job.user == "UALICE" and at >= NOW - 10 * DAY
    )

    for since, earlier in zip(windows, before, strict=True):
        now = await journal.stats(since)
        assert (now.images, now.requests, now.declined, now.failed) == (
            earlier.images,
            earlier.requests,
            earlier.declined,
            earlier.failed,
        )
        assert now.cost == pytest.approx(earlier.cost)
        assert [(t.who, t.images) for t in now.by_user] == [
            (t.who, t.images) for t in earlier.by_user
        ]
        kept = await times_to_image(journal, history, since)
        assert now.p50 == pytest.approx(percentile(kept, 0.5)), "times: the rows still kept"
    usage = await journal.usage("UBOB", NOW)
    assert (usage.images_today, usage.cost_today) == (
        usage_before.images_today,
        pytest.approx(usage_before.cost_today),
    )
    assert usage.cost_month == pytest.approx(usage_before.cost_month)
    assert await journal.spent_since(month_start(NOW)) == pytest.approx(spent_before)


async def test_forget_erases_prompts_and_history_but_not_the_quota(journal: Journal) -> None:
    mine = [a_job("UALICE", count=2) for _ in range(3)]
    for job in mine:
        await finish(journal, Made(job, "delivered", images=2), NOW)
    theirs = a_job("UBOB")
    await finish(journal, Made(theirs, "delivered", images=1), NOW)
    assert len(await journal.history("UALICE")) == 3

    assert (await journal.forget("UALICE")).erased == 3
    assert await journal.history("UALICE") == []
    assert all([await journal.get(job.id) is None for job in mine])
    assert await journal.get(theirs.id) is not None
    assert len(await journal.history("UBOB")) == 1
    quota = Limits(daily_quota=7)
    over = await journal.admit(a_job("UALICE", count=2), [], quota)
    assert over.admission is Admission.OVER_QUOTA, "6 images today, forgotten or not"
    assert (await journal.usage("UALICE", NOW)).images_today == 6


async def test_a_notice_is_claimed_once_until_released(journal: Journal) -> None:
    key = "budget:2026-11:80"
    claims = await asyncio.gather(*(journal.claim_notice(key) for _ in range(5)))
    assert sorted(claims) == [False, False, False, False, True]
    await journal.release_notice(key)
    assert await journal.claim_notice(key)
    assert not await journal.claim_notice(key)


async def test_ten_thousand_requests_leave_a_bounded_journal(journal: Journal) -> None:
    """Retention shortened to one round of 1,000 requests: after each prune only the
    latest round's jobs and keys remain, and the aggregates hold one row per day,
    user, channel and size — while usage still counts all 10,000 images."""
    users = [f"U{n:02d}" for n in range(20)]
    rounds, per_round = 10, 1000
    started = time.time()
    for _ in range(rounds):
        round_start = time.time()
        # The journal as it was before this round: retention = "since this round".
        await journal.prune(Retention(jobs=0, dedupe=0), now=round_start)
        batch = [
            a_job(users[i % 20], f"C{i % 3}", 1, "2K" if i % 4 == 0 else "1K")
            for i in range(per_round)
        ]

        async def one(job: Job) -> None:
            await journal.admit(job, [job.key], Limits(daily_quota=10_000))
            await journal.finish_delivered(
                job.id, images=1, size=job.options.size, attempts=1, logids=[], file_ids=[]
            )

        for chunk in range(0, per_round, 50):
            await asyncio.gather(*(one(job) for job in batch[chunk : chunk + 50]))
        counts = await journal.row_counts()
        assert counts["jobs"] == per_round
        assert counts["deliveries"] == per_round
        assert counts["daily_usage"] <= len(users) * 3 * 2
    total = sum([(await journal.usage(user)).images_today for user in users])
    assert total == rounds * per_round, "pruned requests still count"
    stats = await journal.stats(day_start(started))
    assert stats.images == rounds * per_round
    assert stats.requests == rounds * per_round


async def test_two_replicas_post_each_notice_once_and_retry_a_failed_post(
    journal: Journal, journal_target: Path | PostgresURL
) -> None:
    posted: list[int] = []
    refuse = [True]

    async def notify(notice: Notice) -> bool:
        if refuse[0]:
            refuse[0] = False
            return False  # Slack would not take it: released, retried later
        posted.append(notice.threshold)
        return True

    for made, at in [(Made(a_job("UALICE", count=5), "delivered", images=5), NOW)]:
        await finish(journal, made, at)
    spent = await journal.spent_since(month_start(NOW))
    assert spent == pytest.approx(5 * 0.067)
    first = BudgetWatch(journal, 0.4, notify)  # 0.335 of 0.40: past 80 %
    await first.check()
    assert posted == []
    await first.check()
    assert posted == [80]
    other = await Journal.open(journal_target) if isinstance(journal_target, PostgresURL) else None
    second = BudgetWatch(other or journal, 0.4, notify)
    await asyncio.gather(first.check(), second.check(), second.check())
    assert posted == [80], "another replica, or a restart, does not post it again"
    assert not second.exhausted(spent)
    assert BudgetWatch(journal, 0.3, notify).exhausted(spent)
    if other is not None:
        await other.close()


def test_the_budget_resets_on_the_first_of_next_month_utc() -> None:
    late = dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC).timestamp()
    assert next_month(late) == dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
    mid = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC).timestamp()
    assert next_month(mid) == dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp()
