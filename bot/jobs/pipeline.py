"""One job's way from admitted to done: its units in the fair queue, its inputs
fetched once the first is taken, their results gathered, the images delivered —
ending in an outcome, as data.

The runner owns the queue, the workers and the tasks; this module owns what
happens to one job between them, and says nothing itself: the publisher
renders every status and outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from bot.generation import (
    BadRequest,
    Declined,
    Generation,
    GenerationError,
    ImageRequest,
    InputImage,
    KeyRejected,
    prepare_input,
)
from bot.generation.images import NotAnImage, identify
from bot.jobs.delivery import Delivery, origin_of
from bot.jobs.fair_queue import Unit, UnitQueue
from bot.jobs.job import Job, StatusRef
from bot.jobs.journal import Journal
from bot.jobs.outcomes import (
    Cancelled,
    Delivered,
    Failed,
    InputUnreadable,
    Made,
    NotStarted,
    Outcome,
    Paused,
)
from bot.jobs.progress import (
    CancelledUnit,
    JobRequest,
    Prepared,
    Progress,
    ShuttingDown,
    log_event,
)
from bot.jobs.publisher import Publisher
from bot.jobs.shape import edit_options
from bot.metrics import Metrics
from bot.options import ImageOptions

logger = logging.getLogger(__name__)


# How long a job's units wait for its status line before they queue anyway: Slack
# refuses a post it will never take within milliseconds, and a post it is only
# throttling (~1 a second per channel) should not hold the gateway back.
STATUS_HEAD_START = 1.0
Ahead = Callable[[str], Awaitable[int | None]]  # images before a job's first, while it waits
Inputs = tuple[tuple[InputImage, ...], tuple[str, ...]]  # images to edit, and their names


class JobPipeline:
    def __init__(
        self,
        publisher: Publisher,
        journal: Journal,
        queue: UnitQueue[JobRequest],
        ahead: Ahead,
        *,
        tick_seconds: float,
        metrics: Metrics,
        delivery: Delivery,
    ) -> None:
        self._metrics = metrics
        self._delivery = delivery
        self._publisher = publisher
        self._journal = journal
        self._queue = queue
        self._ahead = ahead
        self._tick = tick_seconds

    async def run(
        self,
        job: Job,
        status: asyncio.Task[StatusRef | None],
        progress: Progress,
        units: list[Unit[JobRequest]],
    ) -> Outcome | NotStarted:
        """Generate and deliver ``job``; ``units`` is filled as they are queued (to cancel).

        ``status`` is the job's status line being posted. Its units are queued once it
        is up, or after ``STATUS_HEAD_START`` seconds if Slack is slow to take it (a busy
        channel): generation does not wait on Slack's posting limit, delivery does.
        A status Slack refuses outright (None) comes back within the head start, so
        nothing is made for a request whose requester cannot be answered there.
        """
        await asyncio.wait({status}, timeout=STATUS_HEAD_START)
        if status.done() and status.result() is None:
            return NotStarted()
        request = JobRequest(partial(self._prepare, job, progress))
        units.extend(Unit(job.user, job.id, request) for _ in range(job.options.count))
        ticker = asyncio.create_task(self._keep_status_fresh(job, status, progress))
        try:
            for unit in units:
                await self._queue.put(unit)
            results = await asyncio.gather(*(u.result for u in units), return_exceptions=True)
            units.clear()  # their futures hold the images too; _deliver lets them go
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        input_names = request.input_names
        del request  # the images to edit are no longer needed
        made = _files_of(results)
        try:
            # Images ready before their status line (Slack still throttling its post) go
            # where the job was asked; the status line, once up, becomes their card.
            ref = status.result() if status.done() else None
            if status.done() and ref is None:
                return NotStarted()
            job = progress.job or job  # as it ran: an edit may have taken its image's shape
            return await self._outcome(job, ref, progress, results, input_names)
        finally:
            # Delivered or not, the files the images were made in go: the spool took
            # those it keeps (they are no longer there), and nothing else wants them.
            for path in made:
                path.unlink(missing_ok=True)

    async def _prepare(self, job: Job, progress: Progress) -> Prepared:
        """The job's gateway request, once a worker takes its first unit: the images to
        edit fetched and prepared, and the shape of the first one taken."""
        inputs, names = await self._inputs(job)
        if inputs:
            job = progress.job = await self._take_shape(job, inputs[0])
        request = ImageRequest(
            job.prompt, job.options.aspect_ratio, job.options.size, images=inputs
        )
        return request, names

    async def _inputs(self, job: Job) -> Inputs:
        """The images to edit, each brought under the gateway's size limit, and their names."""
        prepared, names = [], []
        for file_id in job.inputs:
            shared = await self._publisher.fetch_input(job, file_id)
            try:
                prepared.append(await asyncio.to_thread(prepare_input, shared.data))
            except NotAnImage as exc:
                raise InputUnreadable(str(exc)) from exc
            names.append(shared.name)
        return tuple(prepared), tuple(names)

    async def _take_shape(self, job: Job, source: InputImage) -> Job:
        """An edit keeps its (first) image's shape unless the request said otherwise;
        the journal keeps the options it settles on, for re-rolls and history."""
        if not job.options.defaulted & {"ar", "size"}:
            return job
        try:
            image = identify(source.data)
        except NotAnImage:
            return job  # prepared already: cannot happen, and the default will do
        options = edit_options(
            job.options, (image.width, image.height), await self._earlier_options(job)
        )
        await self._journal.update(job.id, aspect_ratio=options.aspect_ratio, size=options.size)
        shaped = replace(job, options=options)
        log_event(shaped, "shaped", source=f"{image.width}x{image.height}")
        return shaped

    async def _earlier_options(self, job: Job) -> ImageOptions | None:
        """The options of the earlier result the job edits, when it is one in its thread."""
        if not job.reply_thread or not job.inputs:
            return None
        for entry in await self._journal.thread_versions(job.channel, job.reply_thread):
            if job.inputs[0] in entry.file_ids:
                return entry.job.options
        return None

    async def _outcome(
        self,
        job: Job,
        ref: StatusRef | None,
        progress: Progress,
        results: list[object],
        input_names: Sequence[str],
    ) -> Outcome:
        if any(isinstance(r, CancelledUnit) for r in results):
            return Cancelled()
        if any(isinstance(r, (ShuttingDown, asyncio.CancelledError)) for r in results):
            return Paused()
        unreadable = [r for r in results if isinstance(r, InputUnreadable)]
        if unreadable:
            return Failed(unreadable[0])
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, GenerationError):
                raise result
        generations = [r for r in results if isinstance(r, Generation)]
        failures = tuple(r for r in results if isinstance(r, GenerationError))
        for failure in failures:
            self._metrics.image_failed(failure, declined=isinstance(failure, Declined))
            log_event(job, "image_failed", error=type(failure).__name__, logid=failure.logid)
            if isinstance(failure, (KeyRejected, BadRequest)):
                logger.error(
                    "job=%s needs the operator: %s; check BANANA_API_KEY, BANANA_NETWORK or "
                    "BANANA_API_URL, and BANANA_MODEL",
                    job.id,
                    failure,
                )
        if not generations:
            return Failed(failures[0])
        results.clear()
        return await self._deliver(job, ref, progress, generations, failures, input_names)

    async def _deliver(
        self,
        job: Job,
        ref: StatusRef | None,
        progress: Progress,
        generations: list[Generation],
        failures: tuple[GenerationError, ...],
        input_names: Sequence[str],
    ) -> Outcome:
        images = [image for generation in generations for image in generation.images]
        progress.state = "spooled"  # no more progress ticks
        # Results in a thread are numbered, so "v2 but at night" can name one.
        version = await self._journal.start_upload(
            job.id,
            ref.conversation if ref else job.channel,
            ref.thread if ref else job.reply_thread,
            progress.logids,
        )
        delivered = Delivered(
            images=len(images),
            elapsed=progress.elapsed,
            made=tuple(Made(g.logid, g.text) for g in generations),
            failures=failures,
            version=version,
            input_names=tuple(input_names),
            origin=await origin_of(self._journal, job),
        )
        # The caller's list too: the generated buffers must not outlive their spooling.
        generations.clear()
        return await self._delivery.deliver(job, ref, images, delivered, progress.attempts)

    async def _keep_status_fresh(
        self, job: Job, status: asyncio.Task[StatusRef | None], progress: Progress
    ) -> None:
        """Show the status every tick, and at once when the job moves on (the
        publisher shows a new state promptly; a short job must not read "Queued")."""
        ref = await asyncio.shield(status)
        if ref is None:
            return
        while progress.state in ("queued", "running"):
            ahead = await self._ahead(job.id) if progress.state == "queued" else None
            await self._publisher.show_status(job, ref, progress.view(ahead))
            await progress.moved(within=self._tick)


def _files_of(results: Sequence[object]) -> list[Path]:
    """The files the made images are in (none for images held in memory)."""
    return [
        image.path
        for result in results
        if isinstance(result, Generation)
        for image in result.images
        if image.path is not None
    ]
