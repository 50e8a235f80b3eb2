"""What every listener shares: the words that are not prompts, parsing, the one
admission path (gate → journal → run, or a refusal: ``refusals``), and short
answers to the person who asked. Listeners use these narrow operations, never the journal,
the runner or the writer behind them.

Slack hears a listener's 200 only when it returns (so what it journals is
durable first); the Slack calls that answer a person — notes, deletions, the
Home tab — therefore run as background tasks this intake owns, never in the
way of the 200.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.jobs import Admission, Entry, Job, JobRunner, Journal, JournalUnwritable, Limits, Source
from bot.jobs.budget import BudgetWatch
from bot.metrics import Metrics
from bot.options import ParsedRequest, UsageError, parse_request
from bot.slack import mrkdwn, views
from bot.slack.downloads import FileFetcher
from bot.slack.errors import DeliveryError
from bot.slack.foreground import Foreground
from bot.slack.languages import Languages, asks_for_a_language
from bot.slack.listeners import refusals
from bot.slack.listeners.operators import Operators
from bot.slack.payloads import channel_id, clicking_user, image_file_ids
from bot.slack.writer import SlackWriter
from bot.text import COMMAND, say

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
        files: FileFetcher,
        languages: Languages,
        max_images: int,
        max_prompt: int,
        metrics: Metrics | None = None,
        max_queue: int,
        free_previews: bool = False,
        budget: BudgetWatch | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._background: set[asyncio.Task[None]] = set()
        self._runner = runner
        self._writer = writer
        self._journal = journal
        self._limits = limits
        self._files = files
        self._languages = languages
        self._max_images = max_images
        self._max_prompt = max_prompt
        self._max_queue = max_queue
        self._free_previews = free_previews  # offline previews: nothing has a price
        # Jobs admitted while Slack's requests are being answered start after them.
        self.foreground = foreground or Foreground()
        self.operators = Operators(journal, limits, budget, self.background)

    # ---- words and parsing ------------------------------------------------------------
    async def words(self, user: str, text: str, name: str) -> str | None:
        """Replies for the words that are not a prompt (help, usage, cancel, history,
        language)."""
        word = text.strip().lower()
        if word in HELP_WORDS:
            return mrkdwn.usage_text(name)
        if word == "usage":
            return await self.usage_report(user)
        if word == "cancel":
            return mrkdwn.cancel_report_text(await self._runner.cancel_queued(user))
        if word == "history":
            return mrkdwn.history_text(await self.history(user))
        if word == "stats":
            return views.card_text(await self.operators.stats_card(user))
        if word == "forget":  # it needs a button, which only the command's answer carries
            return say("forget.use_command", command=COMMAND)
        if asks_for_a_language(word):
            return await self._languages.switch(user, word.partition(" ")[2].strip())
        return None

    async def language_of(self, user: str) -> str:
        """The language ``user`` reads: chosen, else their Slack's, else the default."""
        return await self._languages.of(user)

    def gate(self, channel: str) -> str | None:
        """Why nothing can be made here and now, if so (logged: nothing is made)."""
        reason = self._closed_because(channel)
        return None if reason is None else refusals.closed(reason, channel)

    def _closed_because(self, channel: str) -> str | None:
        if not self._limits.allows_channel(channel):
            return "channel"
        if not self._runner.accepting:
            return "shutting_down"
        # Everyone's, admins' too: beyond it the queue would only grow while people wait.
        if self._runner.active + self.foreground.held >= self._max_queue:
            return "busy"
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
            logger.info("request not acted on: a usage error")
            if plain:
                return None, mrkdwn.plain_usage_error(exc)
            return None, mrkdwn.usage_error_text(exc, usage_name)

    async def images_in(self, files: object) -> tuple[str, ...]:
        """The images among a message's files (Slack Connect stubs looked up first)."""
        return await image_file_ids(files, self._files.describe)

    # ---- the one admission path -------------------------------------------------------------
    async def request(self, job: Job, keys: list[str], *, first: Answer | None = None) -> Admitted:
        """Gate, journal (before any acknowledgement) and run ``job``, or say why not.

        ``first`` (a slash command's ack) is called with an accepted admission before
        the job starts, so the answer goes out ahead of the job's own Slack calls.
        """
        closed = self._closed_because(job.channel)
        if closed:
            self._count(job, f"refused_{closed}")
            return Admitted(False, refusals.closed(closed, job.channel))
        over_budget = await self.operators.over_budget(job)
        if over_budget:
            logger.info("request not acted on: the monthly budget is used up user=%s", job.user)
            self._count(job, "refused_budget")
            return Admitted(False, over_budget)
        try:
            decision = await self._journal.admit(job, keys, self._limits)
        except JournalUnwritable:
            logger.exception("request not acted on: the journal cannot be written")
            self._count(job, "refused_journal")
            return Admitted(False, say("refused.journal_unwritable"))
        self._count(job, decision.admission.value)
        if decision.admission is not Admission.ACCEPTED:
            return Admitted(False, refusals.refused(decision, job, self._limits))
        quota_left = None if decision.exempt else self._limits.daily_quota
        admitted = Admitted(
            True,
            quota_note=mrkdwn.quota_note(
                job, decision.used_today, quota_left, free=self._free_previews
            ),
        )
        if first is not None:
            await first(admitted)
        self.foreground.after(functools.partial(self._runner.submit, job))
        return admitted

    def _count(self, job: Job, outcome: str) -> None:
        if outcome not in ("accepted", "duplicate") and not outcome.startswith("refused_"):
            outcome = f"refused_{outcome}"
        self._metrics.requests.labels(job.source, outcome).inc()

    async def first_delivery(self, keys: list[str], surface: Source) -> bool:
        """False for a delivery seen before (Slack's retries, one message as two events)."""
        try:
            if await self._journal.remember(keys):
                return True
        except JournalUnwritable:
            return True  # admission fails the same way, and the requester is told why
        self._metrics.requests.labels(surface, "duplicate").inc()
        return False

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
    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (Slack calls the intake or a listener starts) after the listener
        has returned and Slack has its 200; owned here, and drained at shutdown."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def allows_channel(self, channel: str) -> bool:
        return self._limits.allows_channel(channel)

    async def drain(self, grace: float) -> None:
        """At shutdown: let the answers still being sent finish, for at most ``grace`` s."""
        if self._background:
            _, late = await asyncio.wait(set(self._background), timeout=grace)
            for task in late:
                task.cancel()

    async def delete(self, entry: Entry, user: str, card_ts: str | None = None) -> str | None:
        """Remove a result (files and card) for its requester or an admin; else say why not.

        ``card_ts``: the card clicked (a panel job's card is not its status)."""
        if user != entry.job.user and not self._limits.is_admin(user):
            return say("delete_denied")
        await self._journal.mark_deleted(entry.job.id)
        logger.info("job=%s deleted by=%s", entry.job.id, user)
        channel = entry.status_channel or entry.job.channel
        card = entry.status_ts
        if entry.job.source == "assistant" and entry.status_ts == entry.result_thread:
            card = card_ts  # a panel job's "status" is its thread: never delete that
        self.background(self._writer.delete_result(channel, card, entry.file_ids))
        return None

    async def open_modal(self, body: dict[str, Any], view: views.Block) -> None:
        """Open a modal for whoever clicked; tell them if Slack would not."""
        if not await self._writer.open_modal(str(body.get("trigger_id")), view):
            await self.notice(body, say("modal_failed"))

    async def show_home(self, user: str) -> None:
        stats = await self.operators.stats_card(user) if self._limits.is_admin(user) else []
        view = views.home_view(await self.usage_report(user), await self.history(user), stats)
        self.background(self._writer.publish_home(user, view))

    async def notice(
        self,
        body: dict[str, Any],
        text: str,
        *,
        channel: str | None = None,
        thread: str | None = None,
    ) -> None:
        """An ephemeral word to whoever clicked: through response_url when there is one."""
        self.background(self._notice(body, text, channel, thread))

    async def _notice(
        self, body: dict[str, Any], text: str, channel: str | None, thread: str | None
    ) -> None:
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
        if source in ("dm", "assistant"):
            self.background(self._writer.reply(channel, thread, text))
        else:
            self.background(self._writer.whisper(channel, user, thread, text))
