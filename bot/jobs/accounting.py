"""What the journal counts once prompts are gone: finished jobs folded into daily
aggregates, and the operators' statistics read from aggregates and live rows.

A finished job is counted in exactly one place: as its own row while the
journal keeps it, or in ``daily_usage`` (per UTC day, user, channel and size)
once retention or ``/banana forget`` has removed it; the fold is one
transaction. Every count therefore reads both, and the windows are whole UTC
days, so a day split between the two still adds up.

The SQL here is written in what SQLite and PostgreSQL both speak; each store
supplies only its placeholder (``{p}``) and its day arithmetic.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.jobs.retention import DEDUPE_SECONDS, Cutoffs, Retention

ACTIVE = "('queued', 'running', 'uploading')"
# The runner journals a failure's error as "<class name>: <message>".
DECLINED = "(state = 'failed' AND substr(COALESCE(error, ''), 1, 9) = 'Declined:')"
# How one job counts: requests that ended (delivered, declined or failed; a
# cancelled one did neither), and images and cost only when delivered.
JOB_COUNTS = (
    "SUM(CASE WHEN state = 'delivered' THEN images ELSE 0 END) AS images,"
    " SUM(CASE WHEN state = 'delivered' THEN cost ELSE 0 END) AS cost,"
    " SUM(CASE WHEN state IN ('delivered', 'failed', 'interrupted') THEN 1 ELSE 0 END)"
    "  AS requests,"
    f" SUM(CASE WHEN {DECLINED} THEN 1 ELSE 0 END) AS declined,"
    " SUM(CASE WHEN state IN ('failed', 'interrupted') AND NOT "
    f"{DECLINED} THEN 1 ELSE 0 END) AS failed"
)
COUNTED = ("images", "cost", "requests", "declined", "failed")
# Folding: what ``daily_usage`` adds up when a day's key is already there.
ADD_UP = ", ".join(f"{c} = daily_usage.{c} + excluded.{c}" for c in COUNTED)
# Per user and channel since a day start: kept rows and folded days together.
BY_USER_AND_CHANNEL = (
    "SELECT user_id, channel, SUM(images) AS images, SUM(cost) AS cost,"
    " SUM(requests) AS requests, SUM(declined) AS declined, SUM(failed) AS failed FROM ("
    f"  SELECT user_id, channel, {JOB_COUNTS} FROM jobs"
    f"  WHERE state NOT IN {ACTIVE} AND finished_at >= {{p}} GROUP BY user_id, channel"
    "  UNION ALL"
    f"  SELECT user_id, channel, {', '.join(COUNTED)} FROM daily_usage WHERE day >= {{p}}"
    ") AS counted GROUP BY user_id, channel"
)
# Seconds from asking to the image, per delivered request still kept.
TIMES_TO_IMAGE = (
    "SELECT finished_at - created_at AS seconds FROM jobs"
    " WHERE state = 'delivered' AND finished_at >= {p}"
)
SPEND_SINCE = (
    "SELECT (SELECT COALESCE(SUM(cost), 0) FROM jobs"
    "  WHERE state = 'delivered' AND finished_at >= {p})"
    " + (SELECT COALESCE(SUM(cost), 0) FROM daily_usage WHERE day >= {p}) AS spent"
)
TOP = 10
TABLES = ("jobs", "deliveries", "daily_usage", "notices")


@dataclass(frozen=True)
class Tally:
    """Images and estimated cost of one user or one channel."""

    who: str
    images: int
    cost: float


@dataclass(frozen=True)
class Stats:
    """What the bot did since ``since`` (a UTC day start)."""

    since: float
    images: int
    cost: float
    by_user: tuple[Tally, ...]  # the top 10, most images first
    by_channel: tuple[Tally, ...]
    requests: int  # requests that ended: delivered, declined by the model, or failed
    declined: int
    failed: int
    p50: float | None  # seconds from asking to the image, delivered requests
    p95: float | None

    @property
    def refusal_rate(self) -> float:
        return self.declined / self.requests if self.requests else 0.0

    @property
    def failure_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Forgotten:
    erased: int  # finished requests whose prompts and references are gone
    in_progress: int  # still running: kept until they finish


@dataclass(frozen=True)
class Usage:
    """One user's ``/banana usage``: today's images and cost, this month's cost, and
    their jobs still running."""

    images_today: int
    cost_today: float
    cost_month: float
    active: int


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (an observed value, never an interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def stats_from(since: float, rows: Iterable[Any], seconds: Sequence[float]) -> Stats:
    """Totals, top tens and rates from :data:`BY_USER_AND_CHANNEL` rows."""
    users: dict[str, list[float]] = {}
    channels: dict[str, list[float]] = {}
    totals = dict.fromkeys(COUNTED, 0.0)
    for row in rows:
        for name in COUNTED:
            totals[name] += float(row[name] or 0)
        for table, key in ((users, row["user_id"]), (channels, row["channel"])):
            tally = table.setdefault(key, [0, 0.0])
            tally[0] += int(row["images"] or 0)
            tally[1] += float(row["cost"] or 0)
    return Stats(
        since=since,
        images=int(totals["images"]),
        cost=totals["cost"],
        by_user=_top(users),
        by_channel=_top(channels),
        requests=int(totals["requests"]),
        declined=int(totals["declined"]),
        failed=int(totals["failed"]),
        p50=percentile(seconds, 0.50),
        p95=percentile(seconds, 0.95),
    )


def _top(table: dict[str, list[float]]) -> tuple[Tally, ...]:
    tallies = [Tally(who, int(v[0]), v[1]) for who, v in table.items() if v[0]]
    tallies.sort(key=lambda t: (-t.images, -round(t.cost, 6), t.who))
    return tuple(tallies[:TOP])


class Accounting(abc.ABC):
    """The journal's counting (a user's usage, operators' statistics), pruning and
    forgetting; each store supplies its usage query, the writes and one generic read."""

    MARK: ClassVar[str]  # the store's placeholder in the shared SQL

    async def stats(self, since: float) -> Stats:
        """Images, cost, top users and channels, rates and times since ``since`` (a UTC
        day start), from kept rows and folded days alike."""
        rows = await self._read(BY_USER_AND_CHANNEL.format(p=self.MARK), since, since)
        times = await self._read(TIMES_TO_IMAGE.format(p=self.MARK), since)
        return stats_from(since, rows, [float(row["seconds"]) for row in times])

    async def spent_since(self, since: float) -> float:
        """Estimated dollars of everything delivered since ``since`` (a UTC day start)."""
        rows = await self._read(SPEND_SINCE.format(p=self.MARK), since, since)
        return float(rows[0]["spent"])

    async def prune(self, retention: Retention, now: float | None = None) -> int:
        """Let go of what ``retention`` no longer keeps; returns the jobs pruned.

        Finished jobs are folded into their day's aggregates and deleted in one
        transaction (unfinished ones are never touched); expired delivery keys,
        old aggregates and past months' budget notices are deleted.
        """
        return await self._prune(retention.cutoffs(time.time() if now is None else now))

    async def prune_deliveries(self, older_than_seconds: float = DEDUPE_SECONDS) -> None:
        """Only the delivery keys older than ``older_than_seconds``."""
        await self._prune(Cutoffs(0, time.time() - older_than_seconds, 0, 0))

    async def row_counts(self) -> dict[str, int]:
        """Rows per table, for operators (and the test that the journal stays bounded)."""
        counts = ", ".join(f"(SELECT COUNT(*) FROM {table}) AS {table}" for table in TABLES)
        row = (await self._read(f"SELECT {counts}"))[0]
        return {table: int(row[table]) for table in TABLES}

    @abc.abstractmethod
    async def usage(self, user: str, now: float | None = None) -> Usage: ...

    @abc.abstractmethod
    async def _prune(self, cutoffs: Cutoffs) -> int:
        """Delete what is older than ``cutoffs`` (jobs folded first); returns jobs pruned."""

    @abc.abstractmethod
    async def forget(self, user: str) -> Forgotten:
        """Erase the user's finished jobs (prompts, images to edit, result references,
        history), their counts folded into the day aggregates first, so quota,
        budget and stats stay right. Jobs still running are kept until they end."""

    @abc.abstractmethod
    async def claim_notice(self, key: str) -> bool:
        """True exactly once per ``key``, across restarts and replicas."""

    @abc.abstractmethod
    async def release_notice(self, key: str) -> None:
        """Give a claimed notice back (it could not be posted): a later check retries."""

    @abc.abstractmethod
    async def _read(self, sql: str, *args: object) -> list[Any]:
        """The rows of one read, each by column name."""
