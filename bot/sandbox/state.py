"""What the sandbox page shows: the Slack stand-in's workspace as the person at
the page sees it — their channel and DM, the bot's Home tab, the open modal,
the assistant panel, and each image with what its own bytes say about it."""

from __future__ import annotations

import time
from typing import Any

from bot.preview import PreviewFacts, read_preview
from bot.sandbox.actions import CHANNEL, DM, ME, SandboxActions
from bot.standins.slack import BOT_USER, SlackStandIn


class PageState:
    def __init__(self, slack: SlackStandIn, actions: SandboxActions, image_source: str) -> None:
        self._slack = slack
        self._actions = actions
        self._source = image_source
        self._born: dict[str, float] = {}  # message ts → when it appeared
        self._facts: dict[str, PreviewFacts | None] = {}  # file id → what its bytes say
        slack.listeners.append(self._on_change)

    def snapshot(self, since: float | None = None) -> dict[str, Any]:
        """The workspace as the person sees it. Ephemeral messages show only on the
        page that was open when they came (``since``): a reload forgets them, as Slack."""
        messages = []
        panel = self._slack.panel.threads
        for message in self._slack.messages:
            if message.deleted or message.ephemeral_to not in (None, ME):
                continue
            if message.ephemeral_to and (since is None or self._born.get(message.ts, 0) < since):
                continue
            view = message.view()
            view["files"] = [self._file_view(f) for f in message.files]
            view["edited"] = message.edits > 0
            view["panel"] = (message.channel, message.thread_ts or message.ts) in panel
            messages.append(view)
        closed = self._actions.closed_views
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
            "panel": [thread.view() for thread in panel.values()],
            "modal": next(
                (v for v in reversed(self._slack.views) if v["id"] not in closed),
                None,
            ),
        }

    def _file_view(self, file: dict[str, Any]) -> dict[str, Any]:
        file_id = str(file["id"])
        if file_id not in self._facts:
            upload = self._slack.uploads.get(file_id)
            data = upload.get("data") if upload else None
            self._facts[file_id] = read_preview(data) if data is not None else None
        facts = self._facts[file_id]
        view: dict[str, Any] = {
            "id": file_id,
            "name": file.get("name", ""),
            "title": file.get("title", ""),
            "url": f"/files/{file_id}",
        }
        if facts is not None:
            view.update(width=facts.width, height=facts.height)
            if facts.prompt is not None:
                view.update(preview_prompt=facts.prompt, take=facts.take)
        return view

    def _on_change(self, kind: str, data: dict[str, Any]) -> None:
        # When a message first appeared decides which pages its ephemerals show on.
        if kind == "message":
            self._born.setdefault(str(data.get("ts")), time.monotonic())
