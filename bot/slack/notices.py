"""Words to the people who run the bot, in ``BANANA_ADMIN_CHANNEL`` (and the log)."""

from __future__ import annotations

import logging

from bot.jobs.budget import Notice
from bot.slack import reports
from bot.slack.errors import DeliveryError
from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)


class AdminNotices:
    def __init__(self, writer: SlackWriter, channel: str | None) -> None:
        self._writer = writer
        self._channel = channel

    async def budget(self, notice: Notice) -> bool:
        """Post a budget notice; False (logged) if Slack would not take it."""
        logger.warning(
            "budget: %d%% of BANANA_MONTHLY_BUDGET used ($%.2f of $%.2f this month)",
            notice.threshold,
            notice.spent,
            notice.budget,
        )
        if not self._channel:
            return True  # no channel set: the log line is the notice
        try:
            await self._writer.post(self._channel, reports.budget_notice(notice), None)
        except DeliveryError:
            logger.exception(
                "could not post the budget notice in BANANA_ADMIN_CHANNEL=%s (is the bot "
                "invited there?); trying again later",
                self._channel,
            )
            return False
        return True
