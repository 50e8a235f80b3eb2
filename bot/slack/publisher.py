"""The job core's :class:`~bot.jobs.publisher.Publisher`, in Slack: status lines in
the conversation (or the requester's DM when the bot can't post there),
reactions on the request, images uploaded into the thread, and every outcome
rendered as text and cards."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager

from bot.generation import GeneratedImage
from bot.jobs.job import Job, StatusRef
from bot.jobs.outcomes import Delivered, Failed, InputUnreadable, Outcome, Paused
from bot.jobs.publisher import InputFile, PublishError, StatusView, UploadedFile, transient
from bot.slack import mrkdwn, views
from bot.slack.downloads import FileFetcher
from bot.slack.errors import UNREACHABLE, DeliveryError
from bot.slack.languages import Languages
from bot.slack.outcome_text import outcome_text, reason_text, result_comment
from bot.slack.panel import PanelStatus, in_panel
from bot.slack.status import StatusLines
from bot.slack.writer import SlackWriter
from bot.text import say, speaking

logger = logging.getLogger(__name__)

REACTION_WORKING = "hourglass_flowing_sand"
REACTION_DONE = "white_check_mark"
REACTION_FAILED = "x"


def _publish_error(exc: DeliveryError) -> PublishError:
    return PublishError(str(exc), code=exc.code, retry_after=exc.retry_after)


def _reply_thread(job: Job) -> str | None:
    """Where a job is answered: in its thread, or top level for a slash command."""
    return job.reply_thread if job.source != "command" else None


class SlackPublisher:
    """Everything about a job is said in its requester's language, wherever it shows
    (a channel's status line too): ``languages`` knows whose is what."""

    def __init__(
        self,
        writer: SlackWriter,
        files: FileFetcher,
        languages: Languages,
        panel: PanelStatus | None = None,
    ) -> None:
        self._writer = writer
        self._files = files
        self._languages = languages
        self._lines = StatusLines(writer)
        self._panel = panel  # jobs asked for in the AI-app panel (None: no panel)

    async def _speaking_to(self, job: Job) -> AbstractContextManager[None]:
        return speaking(await self._languages.of(job.user))

    def _status_text(self, job: Job, view: StatusView) -> str:
        return mrkdwn.status_text(
            job, view.state, view.elapsed, attempts=view.attempts, ahead=view.ahead
        )

    def _status_gist(self, job: Job, view: StatusView) -> str:
        """What the status says without its ticking figures (the seconds, the queue
        position): when this changes, the line is edited at once."""
        return mrkdwn.status_text(job, view.state, 0, attempts=view.attempts)

    # ---- while it runs ---------------------------------------------------------------
    async def open_status(
        self, job: Job, view: StatusView, existing: StatusRef | None = None
    ) -> StatusRef:
        with await self._speaking_to(job):
            if self._panel is not None and job.source == "assistant":
                ref = await self._panel.open(job, view, resumed=existing is not None)
                if ref is not None:
                    return ref  # else not a panel thread: a status message, as in a DM
            text, gist = self._status_text(job, view), self._status_gist(job, view)
            if existing is not None and not in_panel(job, existing):
                try:
                    await self._lines.show(existing, text, gist=gist, final=True)
                except DeliveryError as exc:
                    raise _publish_error(exc) from exc
                return existing
            channel, thread, moved = job.channel, _reply_thread(job), False
            try:
                try:
                    ts = await self._writer.post(channel, text, thread)
                except DeliveryError as exc:
                    if exc.code not in UNREACHABLE:
                        raise
                    channel, thread, moved = await self._move_to_dm(job), None, True
                    ts = await self._writer.post(channel, text, None)
            except DeliveryError as exc:
                raise _publish_error(exc) from exc
            if job.request_ts:
                await self._writer.react(job.channel, job.request_ts, REACTION_WORKING)
            ref = StatusRef(channel, ts, thread)
            self._lines.opened(ref, text, gist=gist, moved_to_dm=moved)
            return ref

    async def show_status(self, job: Job, ref: StatusRef, view: StatusView) -> None:
        with await self._speaking_to(job):
            if self._panel is not None and in_panel(job, ref):
                await self._panel.show(job, ref, view)
                return
            text, gist = self._status_text(job, view), self._status_gist(job, view)
            await self._lines.show(ref, text, gist=gist)

    async def fetch_input(self, job: Job, file_id: str) -> InputFile:
        try:
            name, data = await self._files.fetch(file_id)
        except DeliveryError as exc:
            raise InputUnreadable(exc.code) from exc
        return InputFile(name, data)

    # ---- how it ends -------------------------------------------------------------------
    async def upload(self, job: Job, images: Sequence[GeneratedImage]) -> list[UploadedFile]:
        try:
            files = await self._writer.upload(job.prompt, images)
        except DeliveryError as exc:
            raise _publish_error(exc) from exc
        return [UploadedFile(f["id"], f["title"]) for f in files]

    async def share(
        self,
        job: Job,
        ref: StatusRef | None,
        files: Sequence[UploadedFile],
        delivery: Delivered,
    ) -> list[str]:
        with await self._speaking_to(job):
            comment = result_comment(job, delivery, self._writer.permalink)
            uploaded = [{"id": f.id, "title": f.title} for f in files]
            # No status line yet (Slack is throttling its post): where the job was asked.
            channel = ref.conversation if ref else job.channel
            thread = ref.thread if ref else _reply_thread(job)
            try:
                await self._writer.share(channel, thread, uploaded, comment)
            except DeliveryError as exc:
                if exc.code not in UNREACHABLE or (ref and self._lines.moved_to_dm(ref)):
                    raise _publish_error(exc) from exc
                try:  # the files are uploaded already: only share them again
                    await self._writer.share(await self._move_to_dm(job), None, uploaded, comment)
                except DeliveryError as again:
                    raise _publish_error(again) from again
            return [f.id for f in files]

    async def finish(self, job: Job, ref: StatusRef | None, outcome: Outcome) -> None:
        with await self._speaking_to(job):
            if self._panel is not None and ref is not None and in_panel(job, ref):
                await self._finish_in_panel(self._panel, job, ref, outcome)
                return
            try:
                if isinstance(outcome, Delivered):
                    await self._show_result(job, ref, outcome)
                elif isinstance(outcome, Failed):
                    reason = reason_text(outcome.error, max_input_bytes=self._files.max_bytes)
                    text = mrkdwn.status_text(job, "failed", 0, reason)
                    card_text, blocks = views.failure_card(job, text, declined=outcome.declined)
                    await self._fail(job, ref, card_text, blocks)
                elif isinstance(outcome, Paused):
                    if ref is not None:
                        await self._lines.show(ref, outcome_text(job, outcome), final=True)
                else:
                    await self._fail(job, ref, outcome_text(job, outcome))
            except DeliveryError as exc:
                raise _publish_error(exc) from exc
            finally:
                if ref is not None:
                    self._lines.forget(ref)

    async def _finish_in_panel(
        self, panel: PanelStatus, job: Job, ref: StatusRef, outcome: Outcome
    ) -> None:
        """The end, said in the panel's thread (no status message to turn into it)."""
        text, blocks = "", None
        if isinstance(outcome, Delivered):
            text, blocks = views.result_card(job, outcome.elapsed, outcome.images, outcome.version)
            blocks = await panel.result_blocks(job, blocks)
            await panel.delivered(job, ref, outcome.version)
        elif isinstance(outcome, Failed):
            reason = reason_text(outcome.error, max_input_bytes=self._files.max_bytes)
            line = mrkdwn.status_text(job, "failed", 0, reason)
            text, blocks = views.failure_card(job, line, declined=outcome.declined)
        elif not isinstance(outcome, Paused):  # paused: it resumes on start, nothing to say
            text = outcome_text(job, outcome)
        try:
            await panel.post(job, ref, text, blocks)
        except DeliveryError as exc:
            raise _publish_error(exc) from exc

    async def _show_result(self, job: Job, ref: StatusRef | None, delivery: Delivered) -> None:
        """Turn the status line into the result card (with its buttons); mark the request done."""
        text, blocks = views.result_card(job, delivery.elapsed, delivery.images, delivery.version)
        if ref is not None:
            try:
                await self._lines.show(ref, text, final=True, blocks=blocks)
            except DeliveryError as exc:
                if transient(exc.code):
                    raise  # Slack is away: the job core tries again, the line must not lie
                logger.warning("the result card could not replace the status line", exc_info=True)
        if job.request_ts:
            await self._writer.react(job.channel, job.request_ts, REACTION_DONE, REACTION_WORKING)

    async def _fail(
        self, job: Job, ref: StatusRef | None, text: str, blocks: list[views.Block] | None = None
    ) -> None:
        """Show the failure on the status line, else where the request was; the failed reaction.

        Raises:
            DeliveryError: the failure could not be shown anywhere.
        """
        try:
            if ref is not None:
                await self._lines.show(ref, text, final=True, blocks=blocks)
            else:
                await self._writer.post(job.channel, text, _reply_thread(job))
        except DeliveryError as exc:
            if exc.code in UNREACHABLE and not (ref and self._lines.moved_to_dm(ref)):
                # The conversation is gone or closed to the bot: tell them in its DM.
                await self._writer.post(await self._writer.open_dm(job.user), text, None)
            elif job.response_url and not transient(exc.code):
                await self._writer.respond(job.response_url, text)
            else:
                raise
        if job.request_ts:
            await self._writer.react(job.channel, job.request_ts, REACTION_FAILED, REACTION_WORKING)

    async def not_started(self, job: Job) -> None:
        """The status line could not be posted: say so by what is left, an ephemeral
        through ``response_url`` (commands) and the failed reaction (mentions, DMs)."""
        with await self._speaking_to(job):
            text = say(
                "status.not_started",
                request=mrkdwn.request_line(job),
                retry=mrkdwn.retry_command(job),
            )
            if job.response_url:
                try:
                    await self._writer.respond(job.response_url, text)
                except DeliveryError:
                    logger.exception("job=%s could not tell its requester", job.id)
            if job.request_ts:  # no working reaction yet: it follows the status line
                await self._writer.react(job.channel, job.request_ts, REACTION_FAILED)

    async def _move_to_dm(self, job: Job) -> str:
        """Open the requester's DM with the bot and tell them, ephemerally, why.

        Raises:
            DeliveryError: the DM could not be opened.
        """
        channel = await self._writer.open_dm(job.user)
        if job.response_url:
            try:
                await self._writer.respond(job.response_url, say("moved_to_dm"))
            except DeliveryError:
                logger.warning("could not tell %s that the image goes to their DM", job.user)
        return channel
