"""Who may ask for how much, where: the policy the journal enforces at admission."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    max_queued_per_user: int = 3
    daily_quota: int = 50
    admins: frozenset[str] = field(default_factory=frozenset)
    allowed_channels: frozenset[str] = field(default_factory=frozenset)

    def is_admin(self, user: str) -> bool:
        return user in self.admins

    def allows_channel(self, channel: str) -> bool:
        """DMs with the bot are always allowed; channels only when listed (if a list is set)."""
        return not self.allowed_channels or channel in self.allowed_channels or channel[:1] == "D"


def day_start(now: float) -> float:
    """The quota day starts at 00:00 UTC."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_start(now: float) -> float:
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
