"""What every listener shares: the words that are not prompts, parsing, the one
admission path (gate → journal → run, or a refusal), and short answers to the
person who asked. Listeners use these narrow operations, never the journal,
the runner or the writer behind them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.jobs import Admission, Entry, Job, JobRunner, Journal, Limits, Source
from bot.options import ParsedRequest, UsageError, parse_request
from bot.slack import mrkdwn, views
from bot.slack.payloads import channel_id, clicking_user
from bot.slack.writer import DeliveryError, SlackWriter
from bot.text import COMMAND, count, say

logger = logging.getLogger(__name__)

MENTION = "@banana"
HELP_WORDS = {"", "help", "-h", "--help", "?", "帮助"}


@dataclass(frozen=True)
class Admitted:
    accepted: bool
    refusal: str | None = None  # what to tell the requester when not accepted
    quota_note: str = ""  # what an accepted request uses of the daily quota


Answer = Callable[[Admitted], Awaitable[None]]


class Intake:
    def __init__(
        self,
        *,
        runner: JobRunner,
        writer: SlackWriter,
        journal: Journal,
        limits: Limits,
        max_images: int,
        max_prompt: int,
        free_previews: bool = False,
    ) -> None:
        self._runner = runner
        self._writer = writer
        self._journal = journal
        self._limits = limits
        self._max_images = max_images
        self._max_prompt = max_prompt
        self._free_previews = free_previews  # offline previews: nothing has a price

    # ---- words and parsing ------------------------------------------------------------
    async def words(self, user: str, text: str, name: str) -> str | None:
        """Replies for the words that are not a prompt (help, usage, cancel, history)."""
        word = text.strip().lower()
        if word in HELP_WORDS:
            return mrkdwn.usage_text(name)
        if word == "usage":
            return await self.usage_report(user)
        if word == "cancel":
            return mrkdwn.cancel_report_text(await self._runner.cancel_queued(user))
        if word == "history":
            return mrkdwn.history_text(await self.history(user))
        return None

    def gate(self, channel: str) -> str | None:
        """Why nothing can be made here and now, if so."""
        if not self._limits.allows_channel(channel):
            return say("channel_not_allowed")
        if not self._runner.accepting:
            return say("shutting_down")
        return None

    def parse(
        self, text: str, usage_name: str, *, plain: bool = False
    ) -> tuple[ParsedRequest | None, str | None]:
        """The request, or what is wrong with it (``plain``: for a modal, without markup)."""
        try:
            return parse_request(
                text, max_images=self._max_images, max_prompt=self._max_prompt
            ), None
        except UsageError as exc:
            if plain:
                return None, mrkdwn.plain_usage_error(exc)
            return None, mrkdwn.usage_error_text(exc, usage_name)

    # ---- the one admission path -------------------------------------------------------------
    async def request(self, job: Job, keys: list[str], *, first: Answer | None = None) -> Admitted:
        """Gate, journal (before any acknowledgement) and run ``job``, or say why not.

        ``first`` (a slash command's ack) is called with an accepted admission before
        the job starts, so the answer goes out ahead of the job's own Slack calls.
        """
        refusal = self.gate(job.channel)
        if refusal:
            return Admitted(False, refusal)
        decision = await self._journal.admit(job, keys, self._limits)
        if decision.admission is Admission.DUPLICATE:
            logger.info("duplicate delivery ignored key=%s", job.key)
            return Admitted(False)
        if decision.admission is Admission.TOO_MANY_QUEUED:
            requests = count("count.request", self._limits.max_queued_per_user)
            return Admitted(
                False, say("refused.too_many_queued", requests=requests, command=COMMAND)
            )
        if decision.admission is Admission.OVER_QUOTA:
            quota, used = self._limits.daily_quota, decision.used_today
            return Admitted(
                False,
                say(
                    "refused.over_quota",
                    quota=count("count.image", quota),
                    used=used,
                    left=max(0, quota - used),
                    asked=job.options.count,
                ),
            )
        quota_left = None if decision.exempt else self._limits.daily_quota
        admitted = Admitted(
            True,
            quota_note=mrkdwn.quota_note(
                job, decision.used_today, quota_left, free=self._free_previews
            ),
        )
        if first is not None:
            await first(admitted)
        self._runner.submit(job)
        return admitted

    async def first_delivery(self, keys: list[str]) -> bool:
        """False for a delivery seen before (Slack's retries, one message as two events)."""
        return await self._journal.remember(keys)

    # ---- what listeners read ------------------------------------------------------------------
    async def earlier(self, job_id: str) -> Entry | None:
        """An earlier job (a card's buttons name it)."""
        return await self._journal.get(job_id)

    async def thread_versions(self, channel: str, thread: str) -> list[Entry]:
        return await self._journal.thread_versions(channel, thread)

    async def history(self, user: str) -> list[mrkdwn.HistoryItem]:
        """The user's last generations, each with a link to it."""
        return [
            mrkdwn.HistoryItem(
                e.job.prompt,
                e.job.options,
                e.finished_at or e.job.created_at,
                e.version,
                self._writer.permalink(e.status_channel, e.status_ts, e.result_thread),
            )
            for e in await self._journal.history(user)
        ]

    async def usage_report(self, user: str) -> str:
        usage = await self._journal.usage(user)
        return mrkdwn.usage_report_text(
            usage,
            self._limits.daily_quota,
            self._limits.is_admin(user),
            free=self._free_previews,
        )

    # ---- what listeners do ----------------------------------------------------------------------
    async def delete(self, entry: Entry, user: str) -> str | None:
        """Remove a result (files and card) for its requester or an admin; else say why not."""
        if user != entry.job.user and not self._limits.is_admin(user):
            return say("delete_denied")
        channel = entry.status_channel or entry.job.channel
        await self._writer.delete_result(channel, entry.status_ts, entry.file_ids)
        await self._journal.mark_deleted(entry.job.id)
        logger.info("job=%s deleted by=%s", entry.job.id, user)
        return None

    async def open_modal(self, body: dict[str, Any], view: views.Block) -> None:
        """Open a modal for whoever clicked; tell them if Slack would not."""
        if not await self._writer.open_modal(str(body.get("trigger_id")), view):
            await self.notice(body, say("modal_failed"))

    async def show_home(self, user: str) -> None:
        view = views.home_view(await self.usage_report(user), await self.history(user))
        await self._writer.publish_home(user, view)

    async def notice(
        self,
        body: dict[str, Any],
        text: str,
        *,
        channel: str | None = None,
        thread: str | None = None,
    ) -> None:
        """An ephemeral word to whoever clicked: through response_url when there is one."""
        response_url = body.get("response_url")
        if response_url:
            try:
                await self._writer.respond(str(response_url), text)
                return
            except DeliveryError:
                logger.warning("response_url failed; trying an ephemeral message")
        user, where = clicking_user(body), channel or channel_id(body)
        if user and where:
            await self._writer.whisper(where, user, thread, text)

    async def tell(self, source: Source, channel: str, user: str, thread: str, text: str) -> None:
        """A word after a message: in the thread in DMs, ephemeral in channels."""
        if source == "dm":
            await self._writer.reply(channel, thread, text)
        else:
            await self._writer.whisper(channel, user, thread, text)
