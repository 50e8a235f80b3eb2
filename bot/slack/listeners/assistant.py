"""Slack's AI-app panel, through Bolt's Assistant middleware: a thread started
(greeting and suggested prompts), the channel the person views (the thread's
context), their messages (requests exactly like a DM's), and "Share to
#channel" on a result card.

Each listener only parses, dedupes (in the journal) and hands the Slack calls
to the intake's background tasks: Slack hears the 200 when it returns.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncAssistant, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.slack import ids
from bot.slack.assistant_threads import AssistantThreads, SuggestedPrompt
from bot.slack.listeners.conversations import ConversationListeners
from bot.slack.listeners.intake import Intake
from bot.slack.payloads import clicking_user
from bot.slack.sharing import ResultSharer
from bot.text import say

logger = logging.getLogger(__name__)

# One per ratio family, one in Chinese, one that edits: (title key, prompt key).
_PROMPTS = (
    ("assistant.prompt_wide_title", "assistant.prompt_wide"),
    ("assistant.prompt_tall_title", "assistant.prompt_tall"),
    ("assistant.prompt_chinese_title", "assistant.prompt_chinese"),
    ("assistant.prompt_edit_title", "assistant.prompt_edit"),
)
_CONTEXT_FIELDS = ("channel_id", "team_id", "enterprise_id")
_THREAD_EVENTS = ("assistant_thread_started", "assistant_thread_context_changed")
_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,30}")  # a channel one may share to (not a DM)


def suggested_prompts() -> list[SuggestedPrompt]:
    return [SuggestedPrompt(say(title), say(prompt)) for title, prompt in _PROMPTS]


def _thread(event: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
    """Channel, thread ts and context of an assistant_thread_* event (None if malformed)."""
    thread = event.get("assistant_thread")
    if not isinstance(thread, dict):
        return None
    channel, ts = thread.get("channel_id"), thread.get("thread_ts")
    if not isinstance(channel, str) or not isinstance(ts, str) or not channel or not ts:
        return None
    context = thread.get("context") if isinstance(thread.get("context"), dict) else {}
    kept = {k: v for k, v in (context or {}).items() if k in _CONTEXT_FIELDS}
    return channel, ts, {k: v for k, v in kept.items() if isinstance(v, str) and len(v) < 40}


class AssistantListeners:
    def __init__(
        self,
        intake: Intake,
        conversations: ConversationListeners,
        threads: AssistantThreads,
        sharer: ResultSharer,
    ) -> None:
        self._intake = intake
        self._conversations = conversations
        self._threads = threads
        self._sharer = sharer

    def register(self, app: AsyncApp) -> None:
        assistant = AsyncAssistant(logger=logging.getLogger("bot.slack.bolt"))
        assistant.thread_started(self.on_thread_started)
        assistant.thread_context_changed(self.on_context_changed)
        assistant.user_message(self.on_user_message)
        app.middleware(self.malformed_threads_acknowledged)
        app.assistant(assistant)
        app.action(ids.ACTION_SHARE)(self.on_share)

    async def malformed_threads_acknowledged(
        self, body: dict[str, Any], resp: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse:
        """A 200 for a panel event without its channel or thread: Bolt's Assistant
        middleware would raise (a 500, and Slack would send it again)."""
        event = body.get("event")
        if isinstance(event, dict) and event.get("type") in _THREAD_EVENTS and not _thread(event):
            logger.info("%s not acted on: no channel or thread", event.get("type"))
            return BoltResponse(status=200, body="")
        await next()
        return resp

    async def on_thread_started(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        found = _thread(event)
        if found is None:
            logger.info("assistant thread not acted on: no channel or thread")
            return
        channel, ts, context = found
        if await self._first(body, f"assistant-thread:{channel}:{ts}"):
            self._intake.background(self._greet(channel, ts, context))

    async def _greet(self, channel: str, ts: str, context: dict[str, str]) -> None:
        try:
            await self._threads.greet(channel, ts, say("assistant.greeting"), context)
        except Exception:  # the prompts still help without the greeting
            logger.exception("could not greet in assistant thread %s", ts)
        await self._threads.set_prompts(
            channel, ts, say("assistant.prompts_title"), suggested_prompts()
        )

    async def on_context_changed(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        found = _thread(event)
        if found is None:
            return
        channel, ts, context = found
        if await self._first(body, ""):
            self._intake.background(self._threads.save_context(channel, ts, context))

    async def on_user_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await self._conversations.on_assistant_message(body, event, context)

    async def _first(self, body: dict[str, Any], key: str) -> bool:
        event_id = str(body.get("event_id") or "")
        keys = [k for k in (f"event:{event_id}" if event_id else "", key) if k]
        if not keys:
            return True
        if await self._intake.first_delivery(keys, "assistant"):
            return True
        logger.info("duplicate delivery ignored event_id=%s", event_id or "-")
        return False

    async def on_share(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        job_id, _, channel = str(action.get("value", "")).partition("|")
        entry = await self._intake.earlier(job_id)
        if entry is None or entry.deleted or not entry.file_ids or not _CHANNEL.fullmatch(channel):
            await self._intake.notice(body, say("gone"))
            return
        if clicking_user(body) != entry.job.user:
            await self._intake.notice(body, say("share.not_yours"))
            return
        if not self._intake.allows_channel(channel):
            logger.info("share not acted on: channel not allowed channel=%s", channel)
            await self._intake.notice(body, say("share.not_allowed", channel=f"<#{channel}>"))
            return
        if not await self._intake.first_delivery([f"share:{job_id}:{channel}"], "assistant"):
            await self._intake.notice(body, say("share.again", channel=f"<#{channel}>"))
            return
        self._intake.background(self._share(body, job_id, channel))

    async def _share(self, body: dict[str, Any], job_id: str, channel: str) -> None:
        entry = await self._intake.earlier(job_id)
        if entry is None:
            return
        shared = await self._sharer.share(entry, channel)
        key = "share.done" if shared else "share.cannot_post"
        await self._intake.notice(body, say(key, channel=f"<#{channel}>"))
