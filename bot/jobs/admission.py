"""Who may queue a request, and the row an admitted one is written as.

The policy every store applies inside its own atomic admission (SQLite on its
one thread, PostgreSQL under a per-user advisory lock): the user's active jobs
and images counted today in, a :class:`Decision` out. What counts is each
store's SQL; what refuses is decided here, once.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.jobs.job import Job
from bot.jobs.limits import Limits


class Admission(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    TOO_MANY_QUEUED = "too_many_queued"
    OVER_QUOTA = "over_quota"


@dataclass(frozen=True)
class Decision:
    admission: Admission
    used_today: int = 0  # images counted today, this request included once accepted
    exempt: bool = False  # an admin: no quota


def distinct_keys(keys: Iterable[str]) -> list[str]:
    """Non-empty keys, each once, sorted: one lock order for every transaction."""
    return sorted({key for key in keys if key})


def judge(job: Job, limits: Limits, active: int = 0, used: int = 0) -> Decision:
    """The admission policy, given the user's active jobs and images counted today
    (delivered today plus what active jobs may still deliver; refusals never count).
    Admins are exempt: their stores need not count."""
    if limits.is_admin(job.user):
        return Decision(Admission.ACCEPTED, job.options.count, exempt=True)
    if active >= limits.max_queued_per_user:
        return Decision(Admission.TOO_MANY_QUEUED)
    if used + job.options.count > limits.daily_quota:
        return Decision(Admission.OVER_QUOTA, used_today=used)
    return Decision(Admission.ACCEPTED, used + job.options.count)


def admitted_values(job: Job) -> dict[str, Any]:
    """The row written for an admitted job, by column."""
    options = job.options
    return {
        "id": job.id,
        "delivery_key": job.key,
        "state": "queued",
        "source": job.source,
        "user_id": job.user,
        "channel": job.channel,
        "reply_thread": job.reply_thread,
        "request_ts": job.request_ts,
        "response_url": job.response_url,
        "prompt": job.prompt,
        "aspect_ratio": options.aspect_ratio,
        "size": options.size,
        "count": options.count,
        "created_at": job.created_at,
        "updated_at": time.time(),
        "inputs": " ".join(job.inputs),
        "parent_id": job.parent,
    }
