"""The organisation's monthly budget (``BANANA_MONTHLY_BUDGET``): what has been spent
this UTC month at list prices, whether new requests may still start, and a notice
at 80 % and at 100 %, each posted once a month whatever the restarts and replicas
(the journal remembers which were claimed).

Only delivered images count, as everywhere: refusals and failures are free.
Jobs already admitted always finish, so the month may end a little over.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.jobs.journal import Journal
from bot.jobs.limits import month_start

logger = logging.getLogger(__name__)

THRESHOLDS = (80, 100)  # percent of the budget that earn a notice


@dataclass(frozen=True)
class Notice:
    threshold: int  # percent
    spent: float
    budget: float
    resets_at: float


Notify = Callable[[Notice], Awaitable[bool]]  # True once the notice reached the operators


def next_month(now: float) -> float:
    """When the budget resets: the 1st of the next month, 00:00 UTC."""
    start = dt.datetime.fromtimestamp(month_start(now), dt.UTC)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month).timestamp()


class BudgetWatch:
    def __init__(self, journal: Journal, monthly: float, notify: Notify) -> None:
        self._journal = journal
        self.monthly = monthly
        self._notify = notify
        self._settled: set[str] = set()  # notices known claimed (here or by a replica)

    async def spent(self, now: float | None = None) -> float:
        """Dollars delivered this UTC month, at list prices."""
        return await self._journal.spent_since(month_start(time.time() if now is None else now))

    def exhausted(self, spent: float) -> bool:
        return spent >= self.monthly

    def due(self, spent: float, now: float | None = None) -> list[int]:
        """Thresholds reached whose notice this process has not seen claimed."""
        moment = time.time() if now is None else now
        return [
            t
            for t in THRESHOLDS
            if spent >= self.monthly * t / 100 and self._key(t, moment) not in self._settled
        ]

    async def announce(self, spent: float, now: float | None = None) -> None:
        """Post each reached threshold's notice, once a month across every process.

        A notice that could not be posted is released, so a later check retries it.
        """
        moment = time.time() if now is None else now
        for threshold in self.due(spent, moment):
            key = self._key(threshold, moment)
            if await self._journal.claim_notice(key):
                notice = Notice(threshold, spent, self.monthly, next_month(moment))
                if not await self._notify(notice):
                    await self._journal.release_notice(key)
                    continue
            self._settled.add(key)

    async def check(self) -> None:
        """The periodic check: notices for a threshold crossed with no request since."""
        await self.announce(await self.spent())

    @staticmethod
    def _key(threshold: int, now: float) -> str:
        return f"budget:{dt.datetime.fromtimestamp(now, dt.UTC):%Y-%m}:{threshold}"
