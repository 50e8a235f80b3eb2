"""Slack listeners: parse, admit into the journal, acknowledge, enqueue.

Nothing here generates or waits on the gateway.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot import messages
from bot.jobs import Admission, Job, JobRunner, Journal, Limits, Source
from bot.markup import strip_user_mentions, to_plain
from bot.options import UsageError, parse_request
from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)

COMMAND = "/banana"
MENTION = "@banana"
HELP_WORDS = {"", "help", "-h", "--help", "?", "帮助"}
# Message subtypes that can be a request; edits, deletions, bots, broadcasts are not.
_REQUEST_SUBTYPES = {None, "file_share"}


class Listeners:
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
        self._runner = runner
        self._writer = writer
        self._journal = journal
        self._limits = limits
        self._max_images = max_images
        self._max_prompt = max_prompt

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self.on_command)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        # Catch-alls after the real listeners: an unmatched request gets a 404
        # from Bolt, and Slack then delivers it again.
        app.command(re.compile(".*"))(self.on_unknown_command)
        app.event(re.compile(".*"))(self.ignore)
        app.action(re.compile(".*"))(self.ack_only)
        app.view(re.compile(".*"))(self.ack_only)
        app.shortcut(re.compile(".*"))(self.ack_only)

    async def _answer(self, user: str, channel: str, text: str, name: str) -> str | None:
        """Replies for the words that are not a prompt (help, usage, cancel, refusals)."""
        word = text.strip().lower()
        if word in HELP_WORDS:
            return messages.usage_text(name)
        if word == "usage":
            usage = await self._journal.usage(user)
            limits = self._limits
            return messages.usage_report_text(usage, limits.daily_quota, limits.is_admin(user))
        if word == "cancel":
            return messages.cancel_report_text(await self._runner.cancel_queued(user))
        if not self._limits.allows_channel(channel):
            return messages.channel_not_allowed_text()
        if not self._runner.accepting:
            return messages.SHUTTING_DOWN_TEXT
        return None

    def _parse(self, text: str, usage_name: str) -> tuple[Any, str | None]:
        try:
            return parse_request(
                text, max_images=self._max_images, max_prompt=self._max_prompt
            ), None
        except UsageError as exc:
            return None, messages.usage_error_text(exc, usage_name)

    async def _admit(self, job: Job, keys: list[str]) -> tuple[bool, str | None]:
        """Journal the job (before any acknowledgement); returns (accepted, refusal)."""
        decision = await self._journal.admit(job, keys, self._limits)
        if decision.admission is Admission.DUPLICATE:
            logger.info("duplicate delivery ignored key=%s", job.key)
            return False, None
        if decision.admission is Admission.TOO_MANY_QUEUED:
            return False, messages.too_many_queued_text(self._limits.max_queued_per_user)
        if decision.admission is Admission.OVER_QUOTA:
            return False, messages.over_quota_text(
                decision.used_today, self._limits.daily_quota, job.options.count
            )
        return True, None

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        user, channel = command.get("user_id"), command.get("channel_id")
        trigger = command.get("trigger_id")
        if not user or not channel or not trigger:
            await ack(text=messages.MALFORMED_TEXT, response_type="ephemeral")
            return
        text = to_plain(str(command.get("text", "")))
        answer = await self._answer(user, channel, text, COMMAND)
        parsed, error = (None, answer) if answer else self._parse(text, COMMAND)
        if parsed is None:
            await ack(text=error or "", response_type="ephemeral")
            return
        job = Job(
            key=f"trigger:{trigger}",
            user=user,
            channel=channel,
            prompt=parsed.prompt,
            options=parsed.options,
            source="command",
            response_url=command.get("response_url") or None,
        )
        accepted, refusal = await self._admit(job, [job.key])
        if accepted:
            # Journaled already, so a crash from here on is recovered on restart;
            # answering first keeps the job's own Slack calls out of the ack's way.
            await ack(text=messages.ack_text(parsed), response_type="ephemeral")
            self._runner.submit(job)
        elif refusal:
            await ack(text=refusal, response_type="ephemeral")
        else:
            await ack()

    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if event.get("bot_id") or event.get("edited") or event.get("subtype"):
            return
        await self._from_message(body, event, context, "mention")

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") not in _REQUEST_SUBTYPES:
            return
        if event.get("bot_id") or event.get("user") in (None, context.bot_user_id):
            return
        await self._from_message(body, event, context, "dm")

    async def _from_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, source: Source
    ) -> None:
        channel, ts, user = event.get("channel"), event.get("ts"), event.get("user")
        if not channel or not ts or not user:
            return
        event_id = str(body.get("event_id") or "")
        # The event id catches Slack's retries; channel+ts catches one message
        # arriving as two events. Remembered in the journal, across restarts.
        keys = [f"event:{event_id}" if event_id else "", f"message:{channel}:{ts}"]
        if not await self._journal.remember(keys):
            logger.info("duplicate delivery ignored event_id=%s", event_id)
            return
        raw = str(event.get("text") or "")
        if context.bot_user_id:
            raw = strip_user_mentions(raw, context.bot_user_id)
        text = to_plain(raw)
        thread = event.get("thread_ts") or ts
        answer = await self._answer(user, channel, text, MENTION)
        parsed, error = (None, answer) if answer else self._parse(text, MENTION)
        if parsed is None:
            await self._tell(source, channel, user, thread, error or "")
            return
        job = Job(
            key=keys[0] or keys[1],
            user=user,
            channel=channel,
            prompt=parsed.prompt,
            options=parsed.options,
            source=source,
            reply_thread=thread,
            request_ts=ts,
        )
        accepted, refusal = await self._admit(job, [])
        if accepted:
            self._runner.submit(job)
        elif refusal:
            await self._tell(source, channel, user, thread, refusal)

    async def _tell(self, source: Source, channel: str, user: str, thread: str, text: str) -> None:
        if source == "dm":
            await self._writer.reply(channel, thread, text)
        else:
            await self._writer.whisper(channel, user, thread, text)

    async def on_unknown_command(self, ack: AsyncAck) -> None:
        await ack(text=messages.UNKNOWN_COMMAND_TEXT, response_type="ephemeral")

    async def ack_only(self, ack: AsyncAck) -> None:
        await ack()

    async def ignore(self) -> None:
        return None
