"""Durable delivery: a generated image reaches its requester, or they are told.

The images are spooled to disk (:mod:`bot.jobs.spool`) and the job journaled as
``spooled``; then they are uploaded and shared, retried with backoff while the
platform is away (its Retry-After when given), for ``within`` seconds from the
spooling — across restarts, since a spooled job is delivered from the spool on
start, never regenerated.

At most once: the job is marked ``uploading`` right before the share, the one
step that shows the images. Uploading bytes shows nothing, so a crash before
that mark just uploads again; a crash between the mark and its answer is the
only case where the images may or may not be shown, and the next start tells
the requester so rather than share again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.generation import GeneratedImage
from bot.generation.model import estimated_cost
from bot.jobs.job import Job, StatusRef
from bot.jobs.journal import Journal
from bot.jobs.outcomes import Delivered, Failed, Outcome, Paused, Undelivered, Unexpected
from bot.jobs.progress import log_event
from bot.jobs.publisher import Publisher, PublishError, StatusView, transient
from bot.jobs.spool import Spool, Spooled, SpoolFull
from bot.metrics import Metrics

logger = logging.getLogger(__name__)

FIRST_PAUSE = 0.5  # seconds before the first retry; doubled each time, up to the cap
LONGEST_PAUSE = 15.0
TELL_WITHIN = 3600.0  # at least this long to tell how a job ended, while Slack is away

Load = Callable[[], Awaitable[list[GeneratedImage] | None]]


class Delivery:
    def __init__(
        self,
        publisher: Publisher,
        journal: Journal,
        spool: Spool | None,
        *,
        within: float,
        metrics: Metrics,
    ) -> None:
        self._publisher = publisher
        self._journal = journal
        self._spool = spool
        self._within = within
        # A short window (tests, impatient operators) retries more often.
        self._longest_pause = max(FIRST_PAUSE, min(LONGEST_PAUSE, within / 10))
        self._metrics = metrics

    # ---- start-up ----------------------------------------------------------------------
    async def open(self, spooled: set[str]) -> None:
        """Clear the spool of all but the ``spooled`` jobs, and log what it holds."""
        spool = self._spool
        if spool is None:
            return
        await asyncio.to_thread(spool.open, spooled)
        held, jobs = await asyncio.to_thread(lambda: (spool.size(), spool.jobs()))
        logger.info(
            "spool at %s: %d job(s) waiting for Slack, %.1f MB of %d MB (BANANA_SPOOL_MAX_MB)",
            spool.root,
            jobs,
            held / 1024**2,
            spool.max_bytes // 1024**2,
        )

    async def spooled(self, job_id: str) -> Spooled | None:
        """What the spool holds of a job left ``spooled`` by a previous run."""
        if self._spool is None:
            return None
        return await asyncio.to_thread(self._spool.load, job_id)

    # ---- delivering --------------------------------------------------------------------
    async def deliver(
        self,
        job: Job,
        ref: StatusRef | None,
        images: list[GeneratedImage],
        delivery: Delivered,
        attempts: int,
    ) -> Outcome:
        """Spool freshly generated images (the job is journaled ``spooled``), then
        deliver them. Past the spool's cap they are delivered from where they were
        made (a file the caller removes afterwards, or memory), not across a restart."""
        load: Load
        try:
            if self._spool is None:
                raise SpoolFull("no spool")
            saved = await asyncio.to_thread(self._spool.save, job.id, images, delivery)
        except (SpoolFull, OSError) as exc:
            logger.warning("job=%s not spooled, not kept across a restart: %s", job.id, exc)
            kept = list(images)

            async def load() -> list[GeneratedImage] | None:
                return kept

        else:
            load = self._first_as_saved(saved, self._loader(job.id))
        images.clear()  # on disk now: the megabytes need not wait in memory for Slack
        return await self._until_delivered(
            job, ref, delivery, load, time.time() + self._within, attempts=attempts
        )

    async def resume(self, job: Job, ref: StatusRef | None, spooled: Spooled) -> Outcome:
        """Deliver what a previous run spooled, within the window it started."""
        log_event(job, "resumed_delivery", age=f"{time.time() - spooled.spooled_at:.0f}s")
        delivery = replace(spooled.delivery, origin=await origin_of(self._journal, job))
        deadline = spooled.spooled_at + self._within
        return await self._until_delivered(job, ref, delivery, self._loader(job.id), deadline)

    @staticmethod
    def _first_as_saved(images: list[GeneratedImage], spooled: Load) -> Load:
        """The first attempt uploads the images as the spool saved them (their headers
        are not read back); any retry reads the spool."""
        kept: list[list[GeneratedImage]] = [images]

        async def load() -> list[GeneratedImage] | None:
            if kept:
                return kept.pop()
            return await spooled()

        return load

    def _loader(self, job_id: str) -> Load:
        async def load() -> list[GeneratedImage] | None:
            spooled = await self.spooled(job_id)
            return None if spooled is None else spooled.images

        return load

    async def _until_delivered(
        self,
        job: Job,
        ref: StatusRef | None,
        delivery: Delivered,
        load: Load,
        deadline: float,
        **journaled: Any,
    ) -> Outcome:
        pause = FIRST_PAUSE
        while True:
            try:
                file_ids = await self._attempt(job, ref, delivery, load)
            except PublishError as exc:
                late = time.time() >= deadline
                if not transient(exc.code) or late:
                    logger.error(
                        "job=%s not delivered (%s)%s",
                        job.id,
                        exc.code,
                        "; the delivery window (BANANA_DELIVERY_WITHIN) closed" if late else "",
                    )
                    return await self._abandon(job, Undelivered(exc.code, waited=late))
                logger.warning("job=%s delivery waits for Slack (%s)", job.id, exc.code)
                if ref is not None:
                    await self._publisher.show_status(job, ref, StatusView("spooled"))
                wait = exc.retry_after if exc.retry_after is not None else pause
                await asyncio.sleep(max(0.0, min(wait, deadline - time.time())))
                pause = min(pause * 2, self._longest_pause)
                continue
            except _SpoolLost:
                return await self._abandon(job, Unexpected())
            await self._journal.update(
                job.id,
                "delivered",
                images=delivery.images,
                cost=estimated_cost(job.options.size, delivery.images),
                file_ids=" ".join(file_ids),
                **journaled,
            )
            self._discard(job.id)
            self._metrics.delivered(job.options.size, delivery.images)
            return delivery

    async def _attempt(
        self, job: Job, ref: StatusRef | None, delivery: Delivered, load: Load
    ) -> list[str]:
        """One upload and share.

        Raises:
            PublishError: the platform would not take them (the job is ``spooled`` again).
            _SpoolLost: the spooled images are gone.
            LeaseLost: another process took the job over: it delivers it, not this one.
        """
        images = await load()
        if images is None:
            raise _SpoolLost()
        files = await self._publisher.upload(job, images)
        del images
        await self._journal.mark_sharing(job.id)  # the mark: from here, maybe shown
        try:
            return await self._publisher.share(job, ref, files, delivery)
        except PublishError:
            # The platform answered no: nothing was shown; a later attempt uploads again.
            await self._journal.update(job.id, "spooled")
            raise

    async def _abandon(self, job: Job, error: Undelivered | Unexpected) -> Outcome:
        self._discard(job.id)
        return Failed(error)

    def _discard(self, job_id: str) -> None:
        if self._spool is not None:
            self._spool.discard(job_id)

    # ---- telling -----------------------------------------------------------------------
    async def tell(self, job: Job, ref: StatusRef | None, outcome: Outcome) -> None:
        """Have the publisher say how the job ended, retried while the platform is
        away (an hour, or as long as a delivery may take); a stopping bot does not wait.

        Raises:
            PublishError: it could not be said.
        """
        deadline = time.time() + max(self._within, TELL_WITHIN)
        pause = FIRST_PAUSE
        while True:
            try:
                await self._publisher.finish(job, ref, outcome)
                return
            except PublishError as exc:
                if isinstance(outcome, Paused) or not transient(exc.code):
                    raise
                if time.time() + pause > deadline:
                    raise
                logger.warning("job=%s waits for Slack to show how it ended (%s)", job.id, exc.code)
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else pause)
                pause = min(pause * 2, self._longest_pause)


class _SpoolLost(Exception):
    """The spooled images could not be read back."""


async def origin_of(journal: Journal, job: Job) -> StatusRef | None:
    """Where the job this one re-rolls or edits was answered, when known."""
    if not job.parent:
        return None
    parent = await journal.get(job.parent)
    if parent is None or not parent.status_channel or not parent.status_ts:
        return None
    return StatusRef(parent.status_channel, parent.status_ts, parent.result_thread)


__all__ = ["Delivery", "origin_of"]
