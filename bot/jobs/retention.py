"""How long the journal keeps what (the task that prunes it: ``bot/jobs/chores.py``).

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

from dataclasses import dataclass

from bot.jobs.limits import month_start

DAY = 86400.0
DEDUPE_SECONDS = 3600.0
AGGREGATE_DAYS = 400


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
