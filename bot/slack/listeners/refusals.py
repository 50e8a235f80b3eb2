"""What a request that is not acted on is told, and what the log says, by reason:
the gate's (the channel, shutdown, a full queue) and the journal's (too many of
one person's requests waiting, the daily quota)."""

from __future__ import annotations

import logging

from bot.jobs import Admission, Job, Limits
from bot.jobs.admission import Decision
from bot.text import COMMAND, count, say

logger = logging.getLogger(__name__)

_GATE_TEXT = {
    "channel": "channel_not_allowed",
    "shutting_down": "shutting_down",
    "busy": "refused.very_busy",
}
_GATE_LOG = {
    "channel": "channel not allowed",
    "shutting_down": "shutting down",
    "busy": "too many requests waiting or running (BANANA_MAX_QUEUE)",
}


def closed(reason: str, channel: str) -> str:
    """The gate's refusal (``reason``: channel, shutting_down or busy), logged."""
    logger.info("request not acted on: %s channel=%s", _GATE_LOG[reason], channel)
    return say(_GATE_TEXT[reason])


def refused(decision: Decision, job: Job, limits: Limits) -> str | None:
    """The journal's refusal, logged; None for a duplicate delivery (nothing to say)."""
    if decision.admission is Admission.TOO_MANY_QUEUED:
        logger.info("request not acted on: user=%s has too many queued", job.user)
        requests = count("count.request", limits.max_queued_per_user)
        return say("refused.too_many_queued", requests=requests, command=COMMAND)
    if decision.admission is Admission.OVER_QUOTA:
        logger.info("request not acted on: user=%s is over the daily quota", job.user)
        quota, used = limits.daily_quota, decision.used_today
        return say(
            "refused.over_quota",
            quota=count("count.image", quota),
            used=used,
            left=max(0, quota - used),
            asked=job.options.count,
        )
    logger.info("duplicate delivery ignored key=%s", job.key)
    return None
