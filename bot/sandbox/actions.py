"""What the person at the page does, delivered to the bot exactly as Slack would.

Typing becomes a signed slash command form or a signed Events API envelope;
clicks and modal submits become signed interactivity payloads; all of them
posted to the bot's own ``/slack/events``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import (
    SlackSender,
    app_home_opened,
    app_mention,
    assistant_thread_context_changed,
    assistant_thread_started,
    block_action,
    direct_message,
    envelope,
    message_action,
    slash_command,
    view_submission,
)

ME = "U0YOU"
SLACKBOT = "USLACKBOT"
CHANNEL = "C0GENERAL"
DM = "D0SANDBOX"
_MENTION = re.compile(r"@banana\b", re.I)
UNMENTIONED_HINT = (
    "banana only hears channel messages that mention it: write `@banana …` "
    "or use `/banana …`. (Slack doesn't send a bot the rest.)"
)


class NotFound(LookupError):
    """The message or view the page named is not there (deleted, or never was)."""


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SandboxActions:
    def __init__(self, slack: SlackStandIn, sender: SlackSender, changed: Callable[[], None]):
        self._slack = slack
        self._sender = sender
        self._changed = changed
        self._response_refs: dict[str, tuple[str, str | None]] = {}  # → channel, thread
        self._refs = itertools.count(1)
        self._hinted = False
        self.closed_views: set[str] = set()

    # ---- Slack's side of things ----------------------------------------------------------
    def ephemeral(
        self, channel: str, text: str, thread_ts: str | None = None, *, user: str = BOT_USER
    ) -> Message:
        message = self._slack.add_user_message(channel, user, text, thread_ts)
        message.ephemeral_to = ME
        self._changed()
        return message

    def on_response(self, data: dict[str, Any]) -> None:
        """A ``response_url`` post: ephemeral, in the channel the command came from."""
        channel, thread = self._response_refs.get(str(data.get("ref")), (CHANNEL, None))
        self.ephemeral(channel, str(data.get("text", "")), thread)

    def _response_url(self, channel: str, thread: str | None = None) -> str:
        ref = f"sandbox-{next(self._refs)}"
        self._response_refs[ref] = (channel, thread)
        return self._slack.response_url(ref)

    def _find(self, channel: object, ts: object) -> Message:
        message = self._slack.find(str(channel), str(ts))
        if message is None or message.deleted:
            raise NotFound(f"no message {ts} in {channel}")
        return message

    # ---- what the person does -----------------------------------------------------------------
    async def send(self, channel: str, text: str, thread_ts: str | None) -> str | None:
        """Typed text; returns the ts of the message it became (none for a command)."""
        if text.startswith("/"):
            await self._slash(channel, text, thread_ts)
            return None
        return await self._message(channel, text, thread_ts)

    async def open_home(self) -> bool:
        """The Home tab was opened: Slack tells the bot, which draws it."""
        delivered = await self._sender.event(envelope(app_home_opened(user=ME)))
        return delivered.status == 200

    async def click(self, body: dict[str, Any]) -> bool:
        """A click on a button or a choice in a select of a bot message."""
        message = self._find(body.get("channel"), body.get("ts"))
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
            response_url=self._response_url(message.channel, self._panel_thread(message)),
            thread_ts=message.thread_ts,
        )
        return (await self._sender.interaction(payload)).status == 200

    def _panel_thread(self, message: Message) -> str | None:
        """A click in the AI panel is answered there (else where Slack puts ephemerals)."""
        thread = message.thread_ts
        return thread if thread and (message.channel, thread) in self._slack.panel.threads else None

    async def open_panel(self, viewing: str | None) -> str:
        """The AI-app panel opened (a new chat) while viewing ``viewing``; its thread ts."""
        thread = self._slack.panel.start(ME, viewing)
        event = assistant_thread_started(
            user=ME, channel=thread.channel, thread_ts=thread.thread_ts, viewing=viewing
        )
        await self._sender.event(envelope(event))
        return thread.thread_ts

    async def panel_viewing(self, thread_ts: object, viewing: str | None) -> None:
        """The person moved to another conversation with the panel open."""
        thread = self._slack.panel.threads.get((DM, str(thread_ts)))
        if thread is None:
            raise NotFound(f"no panel thread {thread_ts}")
        if thread.context.get("channel_id") == viewing:
            return
        self._slack.panel.view_channel(thread, viewing)
        event = assistant_thread_context_changed(
            user=ME, channel=thread.channel, thread_ts=thread.thread_ts, viewing=viewing
        )
        await self._sender.event(envelope(event))

    async def submit(self, view_id: object, value: object, *, cancel: bool) -> dict[str, Any]:
        """The open modal's submit (or cancel) button."""
        view = next((v for v in self._slack.views if v["id"] == view_id), None)
        if view is None:
            raise NotFound(f"no view {view_id}")
        if cancel:
            self.closed_views.add(view["id"])
            self._changed()
            return {"ok": True}
        values = {"prompt": {"prompt": {"type": "plain_text_input", "value": value}}}
        delivered = await self._sender.interaction(view_submission(view, values, user=ME))
        reply = delivered.json() if delivered.body.startswith("{") else {}
        if isinstance(reply, dict) and reply.get("response_action") == "errors":
            return {"ok": False, "errors": reply.get("errors", {})}
        self.closed_views.add(view["id"])
        self._changed()
        return {"ok": delivered.status == 200}

    async def shortcut(self, channel: object, ts: object) -> str:
        """The "Edit with banana" message shortcut; returns the thread the answer goes to."""
        message = self._find(channel, ts)
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
        await self._sender.interaction(payload)
        return message.thread_ts or message.ts

    async def _slash(self, channel: str, text: str, thread_ts: str | None) -> None:
        if thread_ts:  # as in Slack: slash commands cannot be used in threads
            self.ephemeral(
                channel,
                "Slash commands can't be used in threads — mention @banana instead.",
                thread_ts,
            )
            return
        name, _, rest = text.partition(" ")
        fields = slash_command(
            slack_escape(rest.strip()),
            user=ME,
            channel=channel,
            channel_name="general" if channel == CHANNEL else "directmessage",
            response_url=self._response_url(channel),
            command=name,
        )
        # The acknowledgement keeps the place of the command, as in Slack, even when
        # the bot's status line (posted while it acknowledges) reaches us first.
        ack = self.ephemeral(channel, "")
        ack.deleted = True
        delivered = await self._sender.command(fields)
        if delivered.status != 200:
            ack.text = f"(the bot answered HTTP {delivered.status})"
        else:
            body = delivered.body
            reply = delivered.json() if body.startswith("{") else {"text": body}
            ack.text = str(reply.get("text") or "") if isinstance(reply, dict) else ""
        ack.deleted = not ack.text
        self._changed()

    async def _message(self, channel: str, text: str, thread_ts: str | None) -> str:
        wire = _MENTION.sub(f"<@{BOT_USER}>", slack_escape(text))
        message = self._slack.add_user_message(channel, ME, wire, thread_ts)
        if channel == DM:
            event = direct_message(
                wire, user=ME, channel=channel, ts=message.ts, thread_ts=thread_ts
            )
        elif f"<@{BOT_USER}>" in wire:
            event = app_mention(wire, user=ME, channel=channel, ts=message.ts, thread_ts=thread_ts)
        else:
            # Real Slack never sends the bot this; say so once instead of leaving silence.
            if not self._hinted:
                self._hinted = True
                self.ephemeral(channel, UNMENTIONED_HINT, thread_ts, user=SLACKBOT)
            return message.ts
        delivered = await self._sender.event(envelope(event))
        if delivered.status != 200:
            self.ephemeral(channel, f"(the bot answered HTTP {delivered.status})", thread_ts)
        return message.ts
