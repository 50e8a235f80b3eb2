"""The stand-in's AI-app panel: assistant threads, with what the bot set on
them — the live status (and its loading lines), the title and the suggested
prompts — recorded as Slack would show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.standins.slack.workspace import TEAM, ApiError, Handler, Message, Workspace

ROOT_SUBTYPE = "assistant_app_thread"  # the message a panel chat hangs from


@dataclass
class AssistantThread:
    channel: str  # the person's DM with the bot
    thread_ts: str
    user: str
    context: dict[str, str] = field(default_factory=dict)
    status: str = ""
    loading: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # every status set, "" for cleared
    title: str = ""
    prompts_title: str = ""
    prompts: list[dict[str, str]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "user": self.user,
            "context": self.context,
            "status": self.status,
            "loading": self.loading,
            "title": self.title,
            "prompts_title": self.prompts_title,
            "prompts": self.prompts,
        }


class AssistantPanel:
    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self.threads: dict[tuple[str, str], AssistantThread] = {}

    def methods(self) -> dict[str, Handler]:
        return {
            "assistant.threads.setStatus": self.set_status,
            "assistant.threads.setTitle": self.set_title,
            "assistant.threads.setSuggestedPrompts": self.set_suggested_prompts,
        }

    def start(self, user: str, viewing: str | None = None) -> AssistantThread:
        """The person opens the panel: a new thread in their DM with the bot."""
        channel = self._workspace.open_im(user)
        root = Message(channel, self._workspace.next_ts(), user, "", subtype=ROOT_SUBTYPE)
        self._workspace.messages.append(root)
        context = {"channel_id": viewing, "team_id": TEAM} if viewing else {}
        thread = AssistantThread(channel, root.ts, user, context)
        self.threads[(channel, root.ts)] = thread
        self._changed(thread)
        return thread

    def restore(self, messages: list[Message]) -> None:
        """Bring back the panel's chats of a saved workspace (what was set on them is
        Slack's display state, not kept: it starts blank)."""
        for root in messages:
            if root.subtype == ROOT_SUBTYPE:
                key = (root.channel, root.ts)
                self.threads.setdefault(key, AssistantThread(root.channel, root.ts, root.user))

    def view_channel(self, thread: AssistantThread, channel: str | None) -> None:
        """The person moves to another channel with the panel open."""
        thread.context = {"channel_id": channel, "team_id": TEAM} if channel else {}
        self._changed(thread)

    def replied(self, channel: str, thread_ts: str) -> None:
        """The bot posted in the thread: Slack clears its status."""
        thread = self.threads.get((channel, thread_ts))
        if thread is not None and thread.status:
            thread.status, thread.loading = "", []
            self._changed(thread)

    def _changed(self, thread: AssistantThread) -> None:
        self._workspace.notify("assistant", thread.view())

    def _thread(self, args: dict[str, Any]) -> AssistantThread:
        key = (str(args.get("channel_id", "")), str(args.get("thread_ts", "")))
        thread = self.threads.get(key)
        if thread is None:
            raise ApiError("invalid_thread_ts")
        return thread

    def set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = self._thread(args)
        loading = args.get("loading_messages") or []
        if isinstance(loading, str):
            loading = loading.split(",")
        if len(loading) > 10:
            raise ApiError("invalid_arguments")
        thread.status, thread.loading = str(args.get("status", "")), [str(x) for x in loading]
        thread.statuses.append(thread.status)
        self._changed(thread)
        return {}

    def set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = self._thread(args)
        thread.title = str(args.get("title", ""))
        self._changed(thread)
        return {}

    def set_suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = self._thread(args)
        prompts = args.get("prompts") or []
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4:
            raise ApiError("invalid_arguments")
        thread.prompts = [
            {"title": str(p.get("title", "")), "message": str(p.get("message", ""))}
            for p in prompts
        ]
        thread.prompts_title = str(args.get("title", ""))
        self._changed(thread)
        return {}
