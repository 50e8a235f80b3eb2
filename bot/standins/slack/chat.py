"""The stand-in's messaging methods: ``chat.*`` (post, ephemeral, update,
delete) and ``reactions.*``, each refusing what Slack refuses."""

from __future__ import annotations

from typing import Any

from bot.standins.slack.arguments import blocks_of, metadata_of, thread_of
from bot.standins.slack.assistant import AssistantPanel
from bot.standins.slack.workspace import (
    BOT_USER,
    ApiError,
    Conversation,
    Handler,
    Message,
    Workspace,
)


class ChatApi:
    def __init__(self, workspace: Workspace, panel: AssistantPanel) -> None:
        self._workspace = workspace
        self._panel = panel

    def methods(self) -> dict[str, Handler]:
        return {
            "chat.postMessage": self.post_message,
            "chat.postEphemeral": self.post_ephemeral,
            "chat.update": self.update,
            "chat.delete": self.delete,
            "reactions.add": self.add_reaction,
            "reactions.remove": self.remove_reaction,
        }

    def post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._post(args)
        return {"channel": message.channel, "ts": message.ts, "message": message.view()}

    def post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._post(args, ephemeral_to=str(args.get("user", ""))).ts}

    def _post(self, args: dict[str, Any], ephemeral_to: str | None = None) -> Message:
        channel = str(args.get("channel", ""))
        self._workspace.writable(channel)
        message = Message(
            channel,
            self._workspace.next_ts(),
            BOT_USER,
            str(args.get("text", "")),
            thread_of(args),
            blocks_of(args),
            ephemeral_to=ephemeral_to,
            metadata=metadata_of(args),
        )
        self._workspace.messages.append(message)
        if message.thread_ts and not ephemeral_to:  # Slack: a reply ends the "is drawing…"
            self._panel.replied(message.channel, message.thread_ts)
        self._workspace.notify("message", message.view())
        return message

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        if self._workspace.conversations.get(message.channel, Conversation("", "")).archived:
            raise ApiError("is_archived")
        message.text = str(args.get("text", message.text))
        message.blocks = blocks_of(args) or message.blocks
        message.metadata = metadata_of(args) or message.metadata
        message.edits += 1
        self._workspace.notify("update", message.view())
        return {"channel": message.channel, "ts": message.ts, "text": message.text}

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        message.deleted = True
        self._workspace.notify("delete", message.view())
        return {"channel": message.channel, "ts": message.ts}

    def add_reaction(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        users = message.reactions.setdefault(str(args.get("name")), set())
        if BOT_USER in users:
            raise ApiError("already_reacted")
        users.add(BOT_USER)
        self._workspace.notify("update", message.view())
        return {}

    def remove_reaction(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        users = message.reactions.get(str(args.get("name")), set())
        if BOT_USER not in users:
            raise ApiError("no_reaction")
        users.discard(BOT_USER)
        self._workspace.notify("update", message.view())
        return {}

    def _existing(self, args: dict[str, Any]) -> Message:
        timestamp = str(args.get("ts") or args.get("timestamp") or "")
        message = self._workspace.find(str(args.get("channel", "")), timestamp)
        if message is None or message.deleted:
            raise ApiError("message_not_found")
        return message
