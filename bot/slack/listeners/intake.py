"""What every listener shares: the words that are not prompts, parsing, admission
into the journal, and short answers to the person who asked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot import messages
from bot.jobs import Admission, Job, JobRunner, Journal, Limits, Source
from bot.options import ParsedRequest, UsageError, parse_request
from bot.slack.writer import DeliveryError, SlackWriter

logger = logging.getLogger(__name__)

COMMAND = "/banana"
MENTION = "@banana"
HELP_WORDS = {"", "help", "-h", "--help", "?", "帮助"}


@dataclass(frozen=True)
class Admitted:
    accepted: bool
    refusal: str | None = None  # what to tell the requester when not accepted
    quota_note: str = ""  # what an accepted request uses of the daily quota


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
    ) -> None:
        self.runner = runner
        self.writer = writer
        self.journal = journal
        self.limits = limits
        self._max_images = max_images
        self._max_prompt = max_prompt

    async def answer(self, user: str, channel: str, text: str, name: str) -> str | None:
        """Replies for the words that are not a prompt (help, usage, cancel, refusals)."""
        word = text.strip().lower()
        if word in HELP_WORDS:
            return messages.usage_text(name)
        if word == "usage":
            return await self.usage_report(user)
        if word == "cancel":
            return messages.cancel_report_text(await self.runner.cancel_queued(user))
        if word == "history":
            return messages.history_text(await self.history(user))
        if not self.limits.allows_channel(channel):
            return messages.channel_not_allowed_text()
        if not self.runner.accepting:
            return messages.SHUTTING_DOWN_TEXT
        return None

    async def history(self, user: str) -> list[messages.HistoryItem]:
        """The user's last generations, each with a link to it."""
        return [
            messages.HistoryItem(
                e.job.prompt,
                e.job.options,
                e.finished_at or e.job.created_at,
                e.version,
                self.writer.permalink(e.status_channel, e.status_ts, e.result_thread),
            )
            for e in await self.journal.history(user)
        ]

    async def usage_report(self, user: str) -> str:
        usage = await self.journal.usage(user)
        return messages.usage_report_text(
            usage, self.limits.daily_quota, self.limits.is_admin(user)
        )

    def parse(self, text: str, usage_name: str) -> tuple[ParsedRequest | None, str | None]:
        try:
            return parse_request(
                text, max_images=self._max_images, max_prompt=self._max_prompt
            ), None
        except UsageError as exc:
            return None, messages.usage_error_text(exc, usage_name)

    async def admit(self, job: Job, keys: list[str]) -> Admitted:
        """Journal the job (before any acknowledgement) if the limits allow it."""
        decision = await self.journal.admit(job, keys, self.limits)
        if decision.admission is Admission.DUPLICATE:
            logger.info("duplicate delivery ignored key=%s", job.key)
            return Admitted(False)
        if decision.admission is Admission.TOO_MANY_QUEUED:
            return Admitted(False, messages.too_many_queued_text(self.limits.max_queued_per_user))
        if decision.admission is Admission.OVER_QUOTA:
            return Admitted(
                False,
                messages.over_quota_text(
                    decision.used_today, self.limits.daily_quota, job.options.count
                ),
            )
        quota = None if decision.exempt else self.limits.daily_quota
        return Admitted(True, quota_note=messages.quota_note(job, decision.used_today, quota))

    async def submit_derived(self, job: Job, body: dict[str, Any]) -> None:
        if not job.user or not job.channel:
            return
        if not self.limits.allows_channel(job.channel):
            await self.notice(body, messages.channel_not_allowed_text())
            return
        if not self.runner.accepting:
            await self.notice(body, messages.SHUTTING_DOWN_TEXT)
            return
        admitted = await self.admit(job, [job.key])
        if admitted.accepted:
            self.runner.submit(job)
        elif admitted.refusal:
            await self.notice(body, admitted.refusal, channel=job.channel, thread=job.reply_thread)

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
                await self.writer.respond(str(response_url), text)
                return
            except DeliveryError:
                logger.warning("response_url failed; trying an ephemeral message")
        user = str((body.get("user") or {}).get("id", ""))
        where = channel or str((body.get("channel") or {}).get("id", ""))
        if user and where:
            await self.writer.whisper(where, user, thread, text)

    async def tell(self, source: Source, channel: str, user: str, thread: str, text: str) -> None:
        if source == "dm":
            await self.writer.reply(channel, thread, text)
        else:
            await self.writer.whisper(channel, user, thread, text)
