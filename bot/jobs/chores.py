"""Chores the bot runs every so often, each as one background task: the runner of
such a task, and the journal's pruning round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.jobs.accounting import Accounting
from bot.jobs.retention import DAY, Retention

logger = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0


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
