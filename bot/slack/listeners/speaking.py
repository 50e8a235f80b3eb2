"""Every listener answers in the language of whoever asked: a Bolt middleware sets
it for the whole request (the listener, its ack and the answers it leaves to
background tasks, which inherit it).

Bolt runs global middleware one after another and the listener after them all
(``next()`` only says "go on"), so the language cannot be scoped to a block
around ``next()``: it is set for the rest of the request's task instead. Each
request has a task of its own (aiohttp's handler; Socket Mode's per message).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.slack.listeners.intake import Intake
from bot.slack.payloads import TYPED_BY_A_PERSON
from bot.text import speak_from_now_on

# Events someone reads an answer to; Slack's other events are not worth a lookup.
_ANSWERED_EVENTS = {"app_mention", "message", "app_home_opened"}


def _asks(body: dict[str, Any], context: AsyncBoltContext) -> bool:
    """Whether this request comes from a person who may read an answer."""
    if not context.user_id or context.user_id == context.bot_user_id:
        return False
    if body.get("type") != "event_callback":
        return True  # a command, a click, a modal, a shortcut
    event = body.get("event") or {}
    if event.get("type") not in _ANSWERED_EVENTS or event.get("bot_id"):
        return False
    return event.get("subtype") in TYPED_BY_A_PERSON


def in_the_askers_language(intake: Intake) -> Callable[..., Awaitable[Any]]:
    async def middleware(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
    ) -> Any:
        if _asks(body, context):
            speak_from_now_on(await intake.language_of(str(context.user_id)))
        return await next()

    return middleware
