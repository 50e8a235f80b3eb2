"""Retention with the real process: ``serve`` prunes the journal as it starts (and
hourly), keeping the counts; a shutdown stops the task cleanly."""

from __future__ import annotations

import time
from pathlib import Path

from bot.jobs import Admission, Job, Journal, Limits
from bot.jobs.limits import day_start
from bot.jobs.retention import DAY
from bot.options import ImageOptions
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from tests.harness import eventually, running_bot


async def a_finished_request(path: Path, *, days_ago: float, user: str) -> str:
    journal = await Journal.open(path)
    try:
        job = Job(
            key=f"trigger:{user}",
            user=user,
            channel="C0GENERAL",
            prompt="a prompt to forget in time",
            options=ImageOptions("1:1", "1K", 2),
            source="command",
            created_at=time.time() - days_ago * DAY - 30,
        )
        decision = await journal.admit(job, [job.key], Limits())
        assert decision.admission is Admission.ACCEPTED
        await journal.finish_delivered(
            job.id, images=2, size="1K", attempts=1, logids=[], file_ids=["F1"]
        )
        await journal.update(job.id, finished_at=time.time() - days_ago * DAY)
        return job.id
    finally:
        await journal.close()


async def test_serve_prunes_past_retention_and_keeps_the_counts(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    path = tmp_path / "journal.db"
    old = await a_finished_request(path, days_ago=3, user="U0OLD")
    recent = await a_finished_request(path, days_ago=0.5, user="U0NEW")

    settings = {"BANANA_DB": str(path), "BANANA_RETENTION_DAYS": "2"}
    async with running_bot(gateway, slack, tmp_path, **settings) as bot:
        await eventually(lambda: "journal pruned: 1 finished request(s)" in bot.logs())
        assert await bot.stop() == 0

    journal = await Journal.open(path)
    try:
        assert await journal.get(old) is None, "past retention: the prompt is gone"
        assert await journal.get(recent) is not None
        week = await journal.stats(day_start(time.time()) - 6 * DAY)
        assert week.images == 4, "both still count"
        assert {t.who for t in week.by_user} == {"U0OLD", "U0NEW"}
        assert (await journal.row_counts())["daily_usage"] == 1
    finally:
        await journal.close()
