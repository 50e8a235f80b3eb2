"""How long the journal keeps what, and the periodic task that prunes it.

- Prompts and result references (a finished job's row): ``BANANA_RETENTION_DAYS``
  (90). Pruning folds the row into the day's aggregates first, so counts stay.
- Delivery keys: :data:`DEDUPE_SECONDS`. They exist only to catch Slack's
  retries: Slack retries an event three times, the last about 5 minutes after
  the first try, and one message may come as two events seconds apart. An
  hour is ten times that, and covers a restart in between; after it no copy of
  a delivery can still arrive.
- Daily aggregates (no prompts): :data:`AGGREGATE_DAYS`, a year and a month,
  so a month can be compared with the same month a year ago.
- Budget notices: only this month's are needed to post each one once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.jobs.limits import month_start

if TYPE_CHECKING:
    from bot.jobs.accounting import Accounting

logger = logging.getLogger(__name__)

DAY = 86400.0
DEDUPE_SECONDS = 3600.0
AGGREGATE_DAYS = 400
PRUNE_EVERY = 3600.0


@dataclass(frozen=True)
class Retention:
    """Ages, in seconds, beyond which the journal lets things go."""

    jobs: float = 90 * DAY
    dedupe: float = DEDUPE_SECONDS
    aggregates: float = AGGREGATE_DAYS * DAY

    @classmethod
    def of_days(cls, days: int) -> Retention:
        return cls(jobs=days * DAY)

    def cutoffs(self, now: float) -> Cutoffs:
        return Cutoffs(
            jobs=now - self.jobs,
            deliveries=now - self.dedupe,
            aggregates=now - self.aggregates,
            notices=month_start(now),
        )


@dataclass(frozen=True)
class Cutoffs:
    """Timestamps: what is older goes."""

    jobs: float
    deliveries: float
    aggregates: float
    notices: float


class Periodic:
    """One background task that runs ``work`` every ``interval`` seconds (first at
    once) until closed. A failing round is logged and the next one runs anyway."""

    def __init__(self, name: str, work: Callable[[], Awaitable[object]], interval: float) -> None:
        self._name = name
        self._work = work
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._work()
            except Exception:
                logger.exception("%s failed; trying again in %.0fs", self._name, self._interval)
            await asyncio.sleep(max(0.0, self._interval - (time.monotonic() - started)))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def prune_journal(journal: Accounting, retention: Retention) -> None:
    """One pruning round, logged when it let anything go."""
    pruned = await journal.prune(retention)
    if pruned:
        logger.info(
            "journal pruned: %d finished request(s) older than %.0f days, counts kept",
            pruned,
            retention.jobs / DAY,
        )
