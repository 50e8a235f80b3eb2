"""Slack listeners: parse, acknowledge, enqueue. Nothing here generates."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot import messages
from bot.jobs import Job, JobRunner, Source
from bot.markup import strip_user_mentions, to_plain
from bot.options import UsageError, parse_request
from bot.slack.dedupe import DeliveryMemory
from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)

COMMAND = "/banana"
HELP_WORDS = {"", "help", "-h", "--help", "?", "帮助"}
# Message subtypes that are never a request: edits, deletions, bots, broadcasts, joins…
_REQUEST_SUBTYPES = {None, "file_share"}


class Listeners:
    def __init__(
        self,
        *,
        runner: JobRunner,
        writer: SlackWriter,
        memory: DeliveryMemory,
        max_images: int,
    ) -> None:
        self._runner = runner
        self._writer = writer
        self._memory = memory
        self._max_images = max_images

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

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        text = to_plain(command.get("text", ""))
        if text.strip().lower() in HELP_WORDS:
            await ack(text=messages.usage_text(COMMAND), response_type="ephemeral")
            return
        try:
            parsed = parse_request(text, max_images=self._max_images)
        except UsageError as exc:
            await ack(text=messages.usage_error_text(exc, COMMAND), response_type="ephemeral")
            return
        if not self._runner.accepting:
            await ack(text=messages.SHUTTING_DOWN_TEXT, response_type="ephemeral")
            return
        if not self._memory.first_time(f"trigger:{command.get('trigger_id')}"):
            await ack()
            return
        self._runner.submit(
            Job(
                key=str(command.get("trigger_id")),
                user=command["user_id"],
                channel=command["channel_id"],
                prompt=parsed.prompt,
                options=parsed.options,
                source="command",
                response_url=command.get("response_url") or None,
            )
        )
        await ack(text=messages.ack_text(parsed), response_type="ephemeral")

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
        channel, ts, user = event["channel"], event["ts"], event.get("user", "")
        event_id = str(body.get("event_id", ""))
        # The event id catches Slack's retries; channel+ts catches one message
        # arriving as two events.
        if not self._memory.first_time(f"event:{event_id}", f"message:{channel}:{ts}"):
            logger.info("duplicate delivery ignored event_id=%s", event_id)
            return
        raw = event.get("text", "")
        if context.bot_user_id:
            raw = strip_user_mentions(raw, context.bot_user_id)
        text = to_plain(raw)
        thread = event.get("thread_ts") or ts
        if text.strip().lower() in HELP_WORDS:
            await self._writer.reply(channel, thread, messages.usage_text("@banana"))
            return
        try:
            parsed = parse_request(text, max_images=self._max_images)
        except UsageError as exc:
            note = messages.usage_error_text(exc, "@banana")
            if source == "dm":
                await self._writer.reply(channel, thread, note)
            else:
                await self._writer.whisper(channel, user, thread, note)
            return
        if not self._runner.accepting:
            await self._writer.reply(channel, thread, messages.SHUTTING_DOWN_TEXT)
            return
        self._runner.submit(
            Job(
                key=event_id or f"{channel}:{ts}",
                user=user,
                channel=channel,
                prompt=parsed.prompt,
                options=parsed.options,
                source=source,
                reply_thread=thread,
                request_ts=ts,
            )
        )

    async def on_unknown_command(self, ack: AsyncAck) -> None:
        await ack(text=messages.UNKNOWN_COMMAND_TEXT, response_type="ephemeral")

    async def ack_only(self, ack: AsyncAck) -> None:
        await ack()

    async def ignore(self) -> None:
        return None
