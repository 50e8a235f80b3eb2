"""Mentions in channels and threads, and DMs: requests, with images to edit."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.jobs import Job, Source
from bot.markup import strip_user_mentions, to_plain
from bot.slack.listeners.intake import MENTION, Intake
from bot.slack.payloads import not_a_new_request
from bot.text import say

logger = logging.getLogger(__name__)

_VERSION = re.compile(r"^v(\d+)\b[,:]?\s*(?:but\s+)?", re.IGNORECASE)


class ConversationListeners:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def register(self, app: AsyncApp) -> None:
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)

    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await self._from_message(body, event, context, "mention")

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if event.get("channel_type") != "im":
            # Mentions in channels come as app_mention; other messages are not for the bot.
            logger.debug("message outside a DM ignored channel=%s", event.get("channel"))
            return
        await self._from_message(body, event, context, "dm")

    async def on_assistant_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """A message in an AI-app panel thread: a request exactly like a DM's."""
        await self._from_message(body, event, context, "assistant")

    async def _from_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, source: Source
    ) -> None:
        reason = not_a_new_request(event, context.bot_user_id)
        if reason:
            _ignored(source, body, event, reason)
            return
        channel, ts, user = event.get("channel"), event.get("ts"), event.get("user")
        if not channel or not ts or not user:
            _ignored(source, body, event, "no channel, ts or user")
            return
        event_id = str(body.get("event_id") or "")
        # The event id catches Slack's retries; channel+ts catches one message
        # arriving as two events. Remembered in the journal, across restarts.
        keys = [f"event:{event_id}" if event_id else "", f"message:{channel}:{ts}"]
        if not await self._intake.first_delivery(keys, source):
            logger.info("duplicate delivery ignored event_id=%s", event_id)
            return
        raw = str(event.get("text") or "")
        if context.bot_user_id:
            raw = strip_user_mentions(raw, context.bot_user_id)
        text = to_plain(raw)
        thread = event.get("thread_ts") or ts
        answer = await self._intake.words(user, text, MENTION) or self._intake.gate(channel)
        parsed, error = (None, answer) if answer else self._intake.parse(text, MENTION)
        if parsed is None:
            await self._intake.tell(source, channel, user, thread, error or "")
            return
        prompt, inputs, problem = await self._images_to_edit(event, channel, parsed.prompt)
        if problem:
            await self._intake.tell(source, channel, user, thread, problem)
            return
        job = Job(
            key=keys[0] or keys[1],
            user=user,
            channel=channel,
            prompt=prompt,
            options=parsed.options,
            source=source,
            reply_thread=thread,
            request_ts=ts,
            inputs=inputs,
        )
        admitted = await self._intake.request(job, [])
        if admitted.refusal:
            await self._intake.tell(source, channel, user, thread, admitted.refusal)

    async def _images_to_edit(
        self, event: dict[str, Any], channel: str, prompt: str
    ) -> tuple[str, tuple[str, ...], str | None]:
        """Attached images, else (inside a thread with results) the latest or named version.

        Returns the prompt (a version name taken out), the file ids, and a problem to
        tell the user, if any.
        """
        attached = await self._intake.images_in(event.get("files"))
        if attached:
            return prompt, attached, None
        thread = event.get("thread_ts")
        if not thread:
            return prompt, (), None
        versions = await self._intake.thread_versions(channel, thread)
        if not versions:
            return prompt, (), None
        named = _VERSION.match(prompt)
        chosen = versions[-1]
        if named:
            number = int(named.group(1))
            matching = [v for v in versions if v.version == number]
            if not matching:
                latest = versions[-1].version or 0
                return prompt, (), say("version_missing", version=number, latest=latest)
            chosen = matching[0]
            prompt = prompt[named.end() :].strip() or prompt
        return prompt, chosen.file_ids[:1], None


def _ignored(source: str, body: dict[str, Any], event: dict[str, Any], reason: str) -> None:
    """Every message the bot does not act on says why, for whoever reads the logs."""
    logger.info(
        "%s not acted on: %s event_id=%s channel=%s ts=%s user=%s",
        source,
        reason,
        body.get("event_id") or "-",
        event.get("channel") or "-",
        event.get("ts") or "-",
        event.get("user") or "-",
    )
