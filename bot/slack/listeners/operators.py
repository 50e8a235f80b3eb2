"""What the listeners offer the people who run the bot: the stats card (admins
only), the monthly budget's word at admission, and ``/banana forget``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bot.jobs import Job, Journal, Limits
from bot.jobs.budget import BudgetWatch, next_month
from bot.jobs.limits import day_start
from bot.jobs.retention import DAY
from bot.slack import reports, views
from bot.text import say

logger = logging.getLogger(__name__)

Later = Callable[[Coroutine[Any, Any, None]], None]


class Operators:
    def __init__(
        self, journal: Journal, limits: Limits, budget: BudgetWatch | None, later: Later
    ) -> None:
        self._journal = journal
        self._limits = limits
        self._budget = budget  # BANANA_MONTHLY_BUDGET, when set
        self._later = later  # runs work after the listener returns (the intake owns it)

    def is_admin(self, user: str) -> bool:
        return self._limits.is_admin(user)

    async def over_budget(self, job: Job) -> str | None:
        """The refusal once this month's budget is spent (admins still pass). Reaching
        a threshold also posts its notice, in the background."""
        if self._budget is None:
            return None
        spent = await self._budget.spent()
        if self._budget.due(spent):
            self._later(self._budget.announce(spent))
        if not self._budget.exhausted(spent) or self._limits.is_admin(job.user):
            return None
        return reports.budget_refusal(next_month(time.time()))

    async def stats_card(self, user: str) -> list[views.Block]:
        """The stats card for an admin (today, 7 and 30 days); a polite no for others."""
        if not self._limits.is_admin(user):
            return views.text_card(say("stats.denied"))
        now = time.time()
        today = day_start(now)
        windows = [
            (say("stats.today"), await self._journal.stats(today)),
            (say("stats.days", days=7), await self._journal.stats(today - 6 * DAY)),
            (say("stats.days", days=30), await self._journal.stats(today - 29 * DAY)),
        ]
        budget = None
        if self._budget is not None:
            spent = await self._budget.spent(now)
            budget = reports.budget_line(spent, self._budget.monthly, next_month(now))
        return views.stats_card(windows, budget)

    async def forget(self, user: str) -> str:
        """Erase the user's prompts and history (their counts stay, without prompts)."""
        forgotten = await self._journal.forget(user)
        logger.info(
            "user=%s erased their history: %d request(s) erased, %d in progress kept",
            user,
            forgotten.erased,
            forgotten.in_progress,
        )
        return reports.forgotten_text(forgotten)
