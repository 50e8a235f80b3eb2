"""How a job ended: journaled, logged as operators read it, and said by the
publisher (retried while the platform is away)."""

from __future__ import annotations

import logging

from bot.jobs.delivery import Delivery
from bot.jobs.job import Job, StatusRef
from bot.jobs.journal import Journal, StoreError
from bot.jobs.outcomes import Cancelled, Delivered, Failed, Outcome, Paused, Unexpected
from bot.jobs.progress import Progress, log_event
from bot.jobs.publisher import Publisher, PublishError
from bot.logs import redact_query_keys

logger = logging.getLogger(__name__)


def _describe(error: Exception) -> str:
    """For the journal, read by operators: the error's class and its (clipped) message,
    with no gateway key in it (an error may echo its request URL)."""
    return redact_query_keys(f"{type(error).__name__}: {error}")[:500]


class Ending:
    def __init__(self, publisher: Publisher, journal: Journal, delivery: Delivery) -> None:
        self._publisher = publisher
        self._journal = journal
        self._delivery = delivery

    async def not_started(self, job: Job, error: Exception | None) -> None:
        """No status line (``error`` says why, when known): the requester hears it by
        what is left, and is charged nothing (an image a worker had already started
        is dropped, never posted)."""
        await self._journal.update(job.id, "failed", error=_describe(error or Unexpected()))
        log_event(job, "failed", error="status_not_posted")
        await self._publisher.not_started(job)

    async def conclude(
        self, job: Job, ref: StatusRef | None, progress: Progress, outcome: Outcome
    ) -> None:
        """Journal how the job ended, log it, and have the publisher say it."""
        try:
            await self._journal_outcome(job, progress, outcome)
        except StoreError:  # a full disk: the requester is still told
            logger.exception("job=%s: how it ended could not be journaled", job.id)
        try:
            await self._delivery.tell(job, ref, outcome)  # retried while Slack is away
        except PublishError:
            if not isinstance(outcome, Paused):
                logger.exception("job=%s could not tell the requester how it ended", job.id)
        if isinstance(outcome, Delivered):  # logged once it shows, as operators read it
            log_event(
                job,
                "delivered",
                images=outcome.images,
                elapsed=f"{progress.elapsed:.1f}s",
                logids=",".join(made.logid for made in outcome.made),
            )

    async def _journal_outcome(self, job: Job, progress: Progress, outcome: Outcome) -> None:
        if isinstance(outcome, Failed):
            progress.state = "failed"
            # A delivery resumed after a restart knows no attempts: keep the journal's.
            counted = (
                {"attempts": progress.attempts, "logids": " ".join(progress.logids)}
                if progress.logids
                else {}
            )
            await self._journal.update(job.id, "failed", error=_describe(outcome.error), **counted)
            log_event(
                job,
                "failed",
                elapsed=f"{progress.elapsed:.1f}s",
                logid=progress.logids[-1] if progress.logids else "-",
            )
        elif isinstance(outcome, Cancelled):
            await self._journal.update(job.id, "cancelled")
            log_event(job, "cancelled")
        elif isinstance(outcome, Paused):
            # Shutdown caught the job: it stays journaled — queued again if it was not
            # made yet, and let go, so another process resumes it at once; a made one
            # stays spooled (or maybe shared), for whoever takes it over.
            if progress.state in ("queued", "running"):
                await self._journal.release(job.id)
            log_event(job, "paused")
