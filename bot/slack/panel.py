"""How a job asked for in Slack's AI-app panel shows itself: the thread's live
status ("banana is drawing… 16:9, 2K") instead of a status message, the
thread titled with the prompt, and the result card posted into the thread —
with "Share to #channel" when the person is viewing a channel the bot may
post in. The status is cleared however the job ends.

A panel job's :class:`StatusRef` names the thread itself (``message`` is the
thread's ts): there is no status message to edit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.jobs.job import Job, StatusRef
from bot.jobs.publisher import StatusView
from bot.slack import views
from bot.slack.assistant_threads import AssistantThreads
from bot.slack.errors import DeliveryError
from bot.slack.writer import SlackWriter
from bot.text import count, say

logger = logging.getLogger(__name__)


def in_panel(job: Job, ref: StatusRef | None) -> bool:
    return ref is not None and job.source == "assistant" and ref.message == ref.thread


def _options(job: Job) -> str:
    return job.options.describe().replace(" · ", ", ")


def status_line(job: Job, view: StatusView) -> str:
    """The live line under the thread, after the bot's name."""
    options = _options(job)
    if view.state == "queued":
        if view.ahead:
            ahead = count("count.image", view.ahead)
            return say("assistant.status_queued_ahead", ahead=ahead, options=options)
        return say("assistant.status_queued", options=options)
    if view.attempts > job.options.count:
        return say("assistant.status_retrying", options=options)
    return say("assistant.status_running", options=options)


_LOADING = (
    "assistant.loading_1",
    "assistant.loading_2",
    "assistant.loading_3",
    "assistant.loading_4",
)


def loading_lines(job: Job, line: str) -> list[str]:
    """What Slack rotates through in place of the status: the line itself first."""
    options = _options(job)
    keys = (
        "assistant.loading_1",
        "assistant.loading_2",
        "assistant.loading_3",
        "assistant.loading_4",
    )
    return [line, *(say(key, options=options) for key in keys)]


class PanelStatus:
    def __init__(
        self, threads: AssistantThreads, writer: SlackWriter, allows_channel: Callable[[str], bool]
    ) -> None:
        self._threads = threads
        self._writer = writer
        self._allows_channel = allows_channel
        self._shown: dict[StatusRef, str] = {}

    async def open(self, job: Job, view: StatusView, resumed: bool) -> StatusRef | None:
        """Set the thread's status; None when Slack will not (then the job shows itself
        as a DM's does, with a status message).

        Bolt hands every DM thread reply to the panel's listener, so a thread in the
        Messages tab (``invalid_thread_ts``), or a workspace without the panel, lands
        here too.
        """
        thread = job.reply_thread
        if not thread:
            return None
        line = status_line(job, view)
        try:
            await self._threads.set_status(job.channel, thread, line, loading_lines(job, line))
        except DeliveryError as exc:
            logger.info("job=%s thread %s has no panel status: %s", job.id, thread, exc.code)
            return None
        if not resumed and not job.parent and not job.inputs:
            # A new subject names the chat; "make it night" or a re-roll keeps its name
            # (an attached image's edit names it once it is the chat's first result).
            await self._threads.set_title(job.channel, thread, job.prompt)
        ref = StatusRef(job.channel, thread, thread)
        self._shown[ref] = line
        return ref

    async def show(self, job: Job, ref: StatusRef, view: StatusView) -> None:
        """A new line only when it says something new (Slack rotates the loading lines)."""
        line = status_line(job, view)
        if self._shown.get(ref) == line:
            return
        self._shown[ref] = line
        try:
            await self._threads.set_status(
                ref.conversation, ref.message, line, loading_lines(job, line)
            )
        except DeliveryError as exc:
            logger.warning("job=%s status not shown: %s", job.id, exc.code)

    async def post(
        self, job: Job, ref: StatusRef, text: str, blocks: list[views.Block] | None = None
    ) -> None:
        """Say how the job ended in the thread, then clear the status (always).

        Raises:
            DeliveryError: it could not be said.
        """
        try:
            if text:
                await self._writer.post(ref.conversation, text, ref.thread, blocks=blocks)
        finally:
            self._shown.pop(ref, None)
            await self._threads.clear_status(ref.conversation, ref.message)

    async def delivered(self, job: Job, ref: StatusRef, version: int | None) -> None:
        """An attached image's edit that is the chat's first result names the chat."""
        if job.inputs and not job.parent and version == 1:
            await self._threads.set_title(ref.conversation, ref.message, job.prompt)

    async def result_blocks(self, job: Job, blocks: list[views.Block]) -> list[views.Block]:
        """The card, offering to share it to the channel on screen when the bot may post there."""
        if not job.reply_thread:
            return blocks
        viewed = await self._threads.viewed_channel(job.channel, job.reply_thread)
        if not viewed or viewed == job.channel or not self._allows_channel(viewed):
            return blocks
        name = await self._writer.channel_name(viewed)
        if name is None:  # the bot cannot see it, so cannot post there
            return blocks
        return views.with_share(blocks, job.id, viewed, name)
