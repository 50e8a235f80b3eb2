"""Deliver requests to the bot exactly as Slack does: signed HTTP to
``/slack/events`` with slash-command forms and Events API envelopes, or the
same payloads over the stand-in's Socket Mode websocket."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.standins.slack import BOT_USER, TEAM

APP_ID = "A0BANANA"
_ids = itertools.count(1)
# Event ids are unique across runs, as Slack's are: a bot's journal remembers them
# for days, so a sandbox restarted on its journal must not send the same ones again.
_RUN = secrets.token_hex(3).upper()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers: ``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def slash_command(
    text: str,
    *,
    user: str,
    channel: str,
    channel_name: str = "general",
    response_url: str = "",
    command: str = "/banana",
) -> dict[str, str]:
    """The form fields of a slash command invocation (note: never a thread_ts)."""
    number = next(_ids)
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "banana",
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{number}.{int(time.time())}.trigger{number:08d}",
    }


def _message_event(
    kind: str, text: str, user: str, channel: str, ts: str, thread_ts: str | None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_mention(
    text: str, *, user: str, channel: str, ts: str, thread_ts: str | None = None
) -> dict[str, Any]:
    return _message_event("app_mention", text, user, channel, ts, thread_ts)


def direct_message(
    text: str, *, user: str, channel: str, ts: str, thread_ts: str | None = None
) -> dict[str, Any]:
    """A DM to the bot (``message.im``)."""
    return {
        **_message_event("message", text, user, channel, ts, thread_ts),
        "channel_type": "im",
    }


def _assistant_event(
    kind: str, *, user: str, channel: str, thread_ts: str, viewing: str | None
) -> dict[str, Any]:
    context = {"channel_id": viewing, "team_id": TEAM} if viewing else {}
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": user,
            "context": context,
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": f"{time.time():.6f}",
    }


def assistant_thread_started(
    *, user: str, channel: str, thread_ts: str, viewing: str | None = None
) -> dict[str, Any]:
    """The person opened the AI-app panel (a new assistant thread in their DM with
    the bot), while viewing channel ``viewing`` (if any)."""
    return _assistant_event(
        "assistant_thread_started", user=user, channel=channel, thread_ts=thread_ts, viewing=viewing
    )


def assistant_thread_context_changed(
    *, user: str, channel: str, thread_ts: str, viewing: str | None = None
) -> dict[str, Any]:
    """The person moved to another channel with the panel open."""
    return _assistant_event(
        "assistant_thread_context_changed",
        user=user,
        channel=channel,
        thread_ts=thread_ts,
        viewing=viewing,
    )


def app_home_opened(*, user: str, tab: str = "home") -> dict[str, Any]:
    """The user opened the app's Home (or Messages) tab."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user[1:]}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event``."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{_RUN}{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }


def _actor(user: str) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}


def block_action(
    action: dict[str, Any],
    *,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str = "",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An interactivity payload for a click on a button or a select in a message."""
    number = next(_ids)
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "user": BOT_USER}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": _actor(user),
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{number}.{int(time.time())}.trigger{number:08d}",
        "team": {"id": TEAM, "domain": "banana"},
        "channel": {"id": channel, "name": "general"},
        "message": message,
        "response_url": response_url,
        "actions": [{"block_id": "controls", "action_ts": str(time.time()), **action}],
    }


def view_submission(
    view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]], *, user: str
) -> dict[str, Any]:
    """The payload Slack sends when the user submits a modal the bot opened."""
    number = next(_ids)
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "banana"},
        "user": _actor(user),
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": f"{number}.{int(time.time())}.trigger{number:08d}",
        "view": {**view, "state": {"values": values}, "team_id": TEAM, "app_id": APP_ID},
        "response_urls": [],
    }


def message_action(
    callback_id: str, message: dict[str, Any], *, user: str, channel: str, response_url: str = ""
) -> dict[str, Any]:
    """A message shortcut invoked on ``message``."""
    number = next(_ids)
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": f"{number}.{int(time.time())}.trigger{number:08d}",
        "team": {"id": TEAM, "domain": "banana"},
        "user": _actor(user),
        "channel": {"id": channel, "name": "general"},
        "message": message,
        "message_ts": message.get("ts"),
        "response_url": response_url,
        "token": "legacy-verification-token",
        "action_ts": str(time.time()),
    }


@dataclass
class Delivered:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackSender:
    """Signs and posts to the bot's ``/slack/events`` like Slack's servers do."""

    def __init__(self, session: aiohttp.ClientSession, events_url: str, signing_secret: str):
        self._session = session
        self.events_url = events_url
        self._secret = signing_secret

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        retry_num: int = 0,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Delivered:
        headers = {"Content-Type": content_type, **sign(secret or self._secret, body, timestamp)}
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        started = time.monotonic()
        async with self._session.post(self.events_url, data=body, headers=headers) as response:
            text = await response.text()
        return Delivered(response.status, text, time.monotonic() - started)

    async def command(self, fields: dict[str, str], **kwargs: Any) -> Delivered:
        body = urlencode(fields).encode()
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    async def interaction(self, payload: dict[str, Any], **kwargs: Any) -> Delivered:
        """Buttons, modals and shortcuts arrive as a form with one ``payload`` field."""
        body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    async def event(self, envelope: dict[str, Any], **kwargs: Any) -> Delivered:
        body = json.dumps(envelope, ensure_ascii=False).encode()
        return await self.post(body, "application/json", **kwargs)
