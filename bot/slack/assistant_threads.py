"""Slack's AI-app panel: the writes that only assistant threads know — the
thread's live status, its title, its suggested prompts — and the channel the
person is viewing (the thread's context).

The companion of :mod:`bot.slack.writer` for this surface: every call is the
bot writing to Slack, with the same typed errors. The context is kept where
Bolt's own default store keeps it — in the metadata of the bot's first
message in the thread — so it survives a restart and Bolt reads it too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import delivery_error, error_code

logger = logging.getLogger(__name__)

CONTEXT_EVENT = "assistant_thread_context"  # the metadata event type Bolt's store uses
MAX_LOADING_MESSAGES = 10  # Slack's limit for setStatus
MAX_TITLE = 200  # a thread title is a line in a list, not a paragraph


@dataclass(frozen=True)
class SuggestedPrompt:
    title: str
    message: str


class AssistantThreads:
    def __init__(self, client: AsyncWebClient, bot_user: str) -> None:
        self._client = client
        self._bot_user = bot_user

    async def set_status(
        self, channel: str, thread_ts: str, status: str, loading: Sequence[str] = ()
    ) -> None:
        """Show ``status`` under the thread ("banana is drawing…"); "" clears it.

        Raises:
            DeliveryError: Slack refused (``invalid_thread_ts``: not an assistant thread).
        """
        arguments: dict[str, Any] = {
            "channel_id": channel,
            "thread_ts": thread_ts,
            "status": status,
        }
        if loading:
            arguments["loading_messages"] = list(loading)[:MAX_LOADING_MESSAGES]
        try:
            await self._client.assistant_threads_setStatus(**arguments)
        except SlackClientError as exc:
            raise delivery_error("could not set the thread's status", exc) from exc

    async def clear_status(self, channel: str, thread_ts: str) -> None:
        """Clear the status (a failure is logged: Slack drops it after 2 minutes anyway)."""
        try:
            await self.set_status(channel, thread_ts, "")
        except Exception:
            logger.warning("could not clear the status of thread %s", thread_ts, exc_info=True)

    async def set_title(self, channel: str, thread_ts: str, title: str) -> None:
        """Name the thread in the panel's history (decoration: a failure is logged)."""
        title = " ".join(title.split())
        if len(title) > MAX_TITLE:
            title = title[: MAX_TITLE - 1] + "…"
        try:
            await self._client.assistant_threads_setTitle(
                channel_id=channel, thread_ts=thread_ts, title=title
            )
        except SlackClientError as exc:
            logger.warning("could not title thread %s: %s", thread_ts, error_code(exc))

    async def set_prompts(
        self, channel: str, thread_ts: str, title: str, prompts: Sequence[SuggestedPrompt]
    ) -> None:
        """Offer prompts as chips under the thread (a failure is logged)."""
        try:
            await self._client.assistant_threads_setSuggestedPrompts(
                channel_id=channel,
                thread_ts=thread_ts,
                title=title,
                prompts=[{"title": p.title, "message": p.message} for p in prompts],
            )
        except SlackClientError as exc:
            logger.warning("could not suggest prompts in %s: %s", thread_ts, error_code(exc))

    async def greet(self, channel: str, thread_ts: str, text: str, context: dict[str, str]) -> None:
        """The bot's first message in the thread, carrying the thread's context.

        Raises:
            DeliveryError: Slack would not take it.
        """
        metadata = {"event_type": CONTEXT_EVENT, "event_payload": context} if context else None
        try:
            await self._client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=text, metadata=metadata
            )
        except SlackClientError as exc:
            raise delivery_error("could not greet", exc) from exc

    async def save_context(self, channel: str, thread_ts: str, context: dict[str, str]) -> None:
        """Remember what the person is viewing now (a failure is logged)."""
        try:
            first = await self._first_bot_message(channel, thread_ts)
            if first is None:
                logger.info("no greeting to keep the context of thread %s on", thread_ts)
                return
            await self._client.chat_update(
                channel=channel,
                ts=first["ts"],
                text=first.get("text", ""),
                blocks=first.get("blocks") or [],
                metadata={"event_type": CONTEXT_EVENT, "event_payload": context},
            )
        except SlackClientError as exc:
            logger.warning("could not save the context of %s: %s", thread_ts, error_code(exc))

    async def viewed_channel(self, channel: str, thread_ts: str) -> str | None:
        """The channel the person was viewing when they last moved, if any (None on failure)."""
        try:
            first = await self._first_bot_message(channel, thread_ts)
        except SlackClientError as exc:
            logger.warning("could not read the context of %s: %s", thread_ts, error_code(exc))
            return None
        metadata = (first or {}).get("metadata") or {}
        if metadata.get("event_type") != CONTEXT_EVENT:
            return None
        viewed = (metadata.get("event_payload") or {}).get("channel_id")
        return str(viewed) if viewed else None

    async def _first_bot_message(self, channel: str, thread_ts: str) -> dict[str, Any] | None:
        response = await self._client.conversations_replies(
            channel=channel, ts=thread_ts, oldest=thread_ts, include_all_metadata=True, limit=4
        )
        for message in response.get("messages") or []:
            if message.get("subtype") is None and message.get("user") == self._bot_user:
                return dict(message)
        return None
