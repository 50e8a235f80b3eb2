"""The sandbox's web page and its small JSON/SSE API.

What a person types becomes exactly what Slack would send: a signed slash
command form, or a signed Events API envelope, posted to the bot's own
``/slack/events``. What the bot does comes back from the Slack stand-in's
model and is pushed to the page as it happens (server-sent events).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import itertools
import json
import logging
import re
from typing import Any

import aiohttp
from aiohttp import web

from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import (
    SlackSender,
    app_home_opened,
    app_mention,
    block_action,
    direct_message,
    envelope,
    message_action,
    slash_command,
    view_submission,
)

logger = logging.getLogger(__name__)

ME = "U0YOU"
CHANNEL = "C0GENERAL"
DM = "D0SANDBOX"
_MENTION = re.compile(r"@banana\b", re.I)


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SandboxPage:
    def __init__(
        self, slack: SlackStandIn, *, events_url: str, signing_secret: str, image_source: str
    ) -> None:
        self._slack = slack
        self._events_url = events_url
        self._secret = signing_secret
        self._source = image_source
        self._streams: set[web.StreamResponse] = set()
        self._response_refs: dict[str, str] = {}
        self._refs = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._changed = asyncio.Event()
        self._pusher: asyncio.Task[None] | None = None
        self._closed_views: set[str] = set()
        slack.listeners.append(self._on_change)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/state", self._state)
        app.router.add_get("/stream", self._stream)
        app.router.add_post("/send", self._send)
        app.router.add_get("/files/{file_id}", self._file)
        app.router.add_post("/action", self._action)
        app.router.add_post("/submit", self._submit)
        app.router.add_post("/shortcut", self._shortcut)
        app.router.add_post("/home", self._home)
        app.on_startup.append(self._start)
        return app

    async def _start(self, _: web.Application) -> None:
        self._session = aiohttp.ClientSession()
        self._pusher = asyncio.create_task(self._push_changes())

    async def close(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._session is not None:
            await self._session.close()
        for stream in list(self._streams):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await stream.write_eof()

    # ---- what the page sees ------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        messages = []
        for message in self._slack.messages:
            if message.deleted or message.ephemeral_to not in (None, ME):
                continue
            view = message.view()
            view["files"] = [
                {"id": f["id"], "name": f["name"], "title": f["title"], "url": f"/files/{f['id']}"}
                for f in message.files
            ]
            view["edited"] = message.edits > 0
            messages.append(view)
        return {
            "source": self._source,
            "me": ME,
            "bot": BOT_USER,
            "conversations": [
                {"id": CHANNEL, "name": "general", "kind": "public"},
                {"id": DM, "name": "banana", "kind": "im"},
            ],
            "messages": messages,
            "home": self._slack.home_views.get(ME),
            "modal": next(
                (v for v in reversed(self._slack.views) if v["id"] not in self._closed_views),
                None,
            ),
        }

    def _on_change(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "response":  # a response_url post: ephemeral, in the command's channel
            channel = self._response_refs.get(str(data.get("ref")), CHANNEL)
            self._ephemeral(channel, str(data.get("text", "")))
            return
        self._changed.set()

    def _ephemeral(self, channel: str, text: str, thread_ts: str | None = None) -> Message:
        message = self._slack.add_user_message(channel, BOT_USER, text, thread_ts)
        message.ephemeral_to = ME
        self._changed.set()
        return message

    async def _push_changes(self) -> None:
        while True:
            await self._changed.wait()
            await asyncio.sleep(0.05)  # coalesce bursts of changes into one push
            self._changed.clear()
            data = f"data: {json.dumps(self.snapshot(), ensure_ascii=False)}\n\n".encode()
            for stream in list(self._streams):
                try:
                    await stream.write(data)
                except (ConnectionError, RuntimeError):
                    self._streams.discard(stream)

    # ---- routes ------------------------------------------------------------------------
    async def _index(self, _: web.Request) -> web.Response:
        html = importlib.resources.files("bot.sandbox").joinpath("page.html").read_text("utf-8")
        return web.Response(text=html, content_type="text/html")

    async def _state(self, _: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await stream.prepare(request)
        self._streams.add(stream)
        await stream.write(f"data: {json.dumps(self.snapshot(), ensure_ascii=False)}\n\n".encode())
        try:
            while True:
                await asyncio.sleep(15)
                await stream.write(b": keep-alive\n\n")
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(stream)
        return stream

    async def _file(self, request: web.Request) -> web.Response:
        upload = self._slack.uploads.get(request.match_info["file_id"])
        if not upload or upload["data"] is None:
            raise web.HTTPNotFound()
        name = str(upload["filename"])
        kind = "image/jpeg" if name.endswith(".jpg") else f"image/{name.rsplit('.', 1)[-1]}"
        return web.Response(body=upload["data"], content_type=kind)

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        channel = str(body.get("channel") or CHANNEL)
        text = str(body.get("text") or "").strip()
        thread_ts = body.get("thread_ts") or None
        if channel not in (CHANNEL, DM) or not text:
            return web.json_response({"ok": False, "error": "nothing to send"}, status=400)
        assert self._session is not None
        sender = SlackSender(self._session, self._events_url, self._secret)
        if text.startswith("/"):
            await self._slash(sender, channel, text, thread_ts)
        else:
            await self._message(sender, channel, text, thread_ts)
        return web.json_response({"ok": True})

    async def _home(self, _: web.Request) -> web.Response:
        """The Home tab was opened: Slack tells the bot, which draws it."""
        delivered = await self._sender().event(envelope(app_home_opened(user=ME)))
        return web.json_response({"ok": delivered.status == 200})

    def _sender(self) -> SlackSender:
        assert self._session is not None
        return SlackSender(self._session, self._events_url, self._secret)

    def _response_url(self, channel: str) -> str:
        ref = f"sandbox-{next(self._refs)}"
        self._response_refs[ref] = channel
        return self._slack.response_url(ref)

    async def _action(self, request: web.Request) -> web.Response:
        """A click on a button or a choice in a select of a bot message."""
        body = await request.json()
        message = self._slack.find(str(body.get("channel")), str(body.get("ts")))
        if message is None:
            raise web.HTTPNotFound()
        action: dict[str, Any] = {"action_id": body.get("action_id"), "type": body.get("type")}
        if body.get("type") == "static_select":
            action["selected_option"] = {"value": body.get("value")}
        else:
            action["value"] = body.get("value")
        payload = block_action(
            action,
            user=ME,
            channel=message.channel,
            message_ts=message.ts,
            response_url=self._response_url(message.channel),
            thread_ts=message.thread_ts,
        )
        delivered = await self._sender().interaction(payload)
        return web.json_response({"ok": delivered.status == 200})

    async def _submit(self, request: web.Request) -> web.Response:
        """The open modal's submit (or cancel) button."""
        body = await request.json()
        view = next((v for v in self._slack.views if v["id"] == body.get("view_id")), None)
        if view is None:
            raise web.HTTPNotFound()
        if body.get("cancel"):
            self._closed_views.add(view["id"])
            self._changed.set()
            return web.json_response({"ok": True})
        values = {"prompt": {"prompt": {"type": "plain_text_input", "value": body.get("value")}}}
        delivered = await self._sender().interaction(view_submission(view, values, user=ME))
        reply = delivered.json() if delivered.body.startswith("{") else {}
        if isinstance(reply, dict) and reply.get("response_action") == "errors":
            return web.json_response({"ok": False, "errors": reply.get("errors", {})})
        self._closed_views.add(view["id"])
        self._changed.set()
        return web.json_response({"ok": delivered.status == 200})

    async def _shortcut(self, request: web.Request) -> web.Response:
        """The "Edit with banana" message shortcut on a message with images."""
        body = await request.json()
        message = self._slack.find(str(body.get("channel")), str(body.get("ts")))
        if message is None:
            raise web.HTTPNotFound()
        payload = message_action(
            "banana_edit_message",
            {
                "type": "message",
                "ts": message.ts,
                "thread_ts": message.thread_ts,
                "user": message.user,
                "text": message.text,
                "files": message.files,
            },
            user=ME,
            channel=message.channel,
            response_url=self._response_url(message.channel),
        )
        delivered = await self._sender().interaction(payload)
        return web.json_response({"ok": delivered.status == 200})

    async def _slash(
        self, sender: SlackSender, channel: str, text: str, thread_ts: str | None
    ) -> None:
        if thread_ts:  # as in Slack: slash commands cannot be used in threads
            self._ephemeral(
                channel,
                "Slash commands can't be used in threads — mention @banana instead.",
                thread_ts,
            )
            return
        name, _, rest = text.partition(" ")
        ref = f"sandbox-{next(self._refs)}"
        self._response_refs[ref] = channel
        fields = slash_command(
            slack_escape(rest.strip()),
            user=ME,
            channel=channel,
            channel_name="general" if channel == CHANNEL else "directmessage",
            response_url=self._slack.response_url(ref),
            command=name,
        )
        # The acknowledgement keeps the place of the command, as in Slack, even when
        # the bot's status line (posted while it acknowledges) reaches us first.
        ack = self._ephemeral(channel, "")
        ack.deleted = True
        delivered = await sender.command(fields)
        if delivered.status != 200:
            ack.text = f"(the bot answered HTTP {delivered.status})"
        else:
            body = delivered.body
            reply = delivered.json() if body.startswith("{") else {"text": body}
            ack.text = str(reply.get("text") or "") if isinstance(reply, dict) else ""
        ack.deleted = not ack.text
        self._changed.set()

    async def _message(
        self, sender: SlackSender, channel: str, text: str, thread_ts: str | None
    ) -> None:
        wire = _MENTION.sub(f"<@{BOT_USER}>", slack_escape(text))
        message = self._slack.add_user_message(channel, ME, wire, thread_ts)
        if channel == DM:
            event = direct_message(
                wire, user=ME, channel=channel, ts=message.ts, thread_ts=thread_ts
            )
        elif f"<@{BOT_USER}>" in wire:
            event = app_mention(wire, user=ME, channel=channel, ts=message.ts, thread_ts=thread_ts)
        else:
            return
        delivered = await sender.event(envelope(event))
        if delivered.status != 200:
            self._ephemeral(channel, f"(the bot answered HTTP {delivered.status})", thread_ts)
