"""The stand-in's model of a Slack workspace: conversations, messages, files,
people's languages and every call that reached "Slack".

The Web API handlers, the Socket Mode server and the assistant panel all read
and change this one model; tests and the sandbox read it to see what the bot
did, and listen to it (``listeners``) to see it as it happens.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BOT_USER = "UBANANA"
BOT_ID = "BBANANA"
TEAM = "T0000BANANA"
Listener = Callable[[str, dict[str, Any]], None]
# A Web API method: its arguments → the fields of its answer besides ``ok``.
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ApiError(Exception):
    """A Web API call the stand-in answers with ``{"ok": false, "error": …}``."""


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Conversation:
    id: str
    name: str
    kind: str = "public"  # public | private | im
    member: bool = True  # is the bot a member
    user: str | None = None  # the other side of an im
    archived: bool = False


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    thread_ts: str | None = None
    blocks: list[Any] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, set[str]] = field(default_factory=dict)
    ephemeral_to: str | None = None
    deleted: bool = False
    edits: int = 0
    subtype: str | None = None  # "assistant_app_thread": an AI-panel thread's root
    metadata: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "thread_ts": self.thread_ts,
            "blocks": self.blocks,
            "files": self.files,
            "reactions": {k: sorted(v) for k, v in self.reactions.items() if v},
            "ephemeral_to": self.ephemeral_to,
            "deleted": self.deleted,
            **({"subtype": self.subtype} if self.subtype else {}),
            **({"metadata": self.metadata} if self.metadata else {}),
        }


class Workspace:
    def __init__(self) -> None:
        self.base = ""  # where the stand-in is served: file URLs point here
        self.calls: list[Call] = []
        self.conversations: dict[str, Conversation] = {}
        self.messages: list[Message] = []
        self.uploads: dict[str, dict[str, Any]] = {}
        self.responses: list[dict[str, Any]] = []  # posts to response_url
        self.views: list[dict[str, Any]] = []  # modals opened
        self.home_views: dict[str, dict[str, Any]] = {}  # user → their App Home tab
        # user → their Slack language, as users.info's include_locale gives it
        self.locales: dict[str, str] = {}
        self.default_locale = "en-US"
        self.listeners: list[Listener] = []
        self._clock = itertools.count(1)
        # One sequence for every id Slack makes up (files, DMs, views, envelopes).
        self._ids = itertools.count(1)
        self.add_conversation("C0GENERAL", "general")

    def add_conversation(
        self, id: str, name: str, kind: str = "public", *, member: bool = True, user: str = ""
    ) -> Conversation:
        conversation = Conversation(id, name, kind, member, user or None)
        self.conversations[id] = conversation
        return conversation

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    def next_id(self) -> int:
        return next(self._ids)

    def add_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A message typed by a person (the sandbox and tests call this)."""
        return self.add(Message(channel, self.next_ts(), user, text, thread_ts))

    def add(self, message: Message) -> Message:
        self.messages.append(message)
        self.notify("message", message.view())
        return message

    def restore(self, messages: list[Message], uploads: dict[str, dict[str, Any]]) -> None:
        """Bring back a saved workspace (the sandbox's transcript, after a restart).

        Files get this run's URLs; new ids continue after the restored ones."""
        self.uploads.update(uploads)
        for message in messages:
            message.files = [
                self.file_object(f["id"]) for f in message.files if f.get("id") in self.uploads
            ]
        self.messages[:0] = messages
        numbers = [int(i[1:]) for i in self.uploads if i[1:].isdigit()]
        self._ids = itertools.count(max(numbers, default=0) + 1)

    def add_user_file(
        self,
        name: str,
        data: bytes,
        *,
        url: str | None = None,
        external: bool = False,
        redirect: str | None = None,
        reported_size: int | None = None,
    ) -> dict[str, Any]:
        """A file a person uploaded (as it appears in a message's ``files``).

        ``url``: where ``files.info`` says its bytes are (default: here); ``external``:
        a file that lives elsewhere (Google Drive, a link), as ``files.info`` shows one;
        ``redirect``: its download here answers with a redirect there;
        ``reported_size``: the size ``files.info`` claims.
        """
        file_id = f"F{self.next_id():08d}"
        self.uploads[file_id] = {
            "filename": name,
            "length": len(data),
            "data": data,
            "url": url,
            "external": external,
            "redirect": redirect,
            "reported_size": reported_size,
        }
        return self.file_object(file_id)

    def visible(self, channel: str | None = None) -> list[Message]:
        return [
            m
            for m in self.messages
            if not m.deleted and m.ephemeral_to is None and channel in (None, m.channel)
        ]

    def ephemerals(self, user: str | None = None) -> list[Message]:
        return [m for m in self.messages if m.ephemeral_to and user in (None, m.ephemeral_to)]

    def find(self, channel: str, ts: str) -> Message | None:
        for message in self.messages:
            if message.channel == channel and message.ts == ts:
                return message
        return None

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def notify(self, kind: str, data: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(kind, data)

    def open_im(self, user: str) -> str:
        """The DM between the bot and ``user`` (opened if need be)."""
        if not user or "," in user:
            raise ApiError("invalid_arguments")
        for conversation in self.conversations.values():
            if conversation.kind == "im" and conversation.user == user:
                return conversation.id
        return self.add_conversation(f"D{self.next_id():06d}{user}", user, "im", user=user).id

    def writable(self, channel: str) -> Conversation:
        """The conversation the bot may post in, or the error Slack gives."""
        conversation = self.conversations.get(channel)
        if conversation is None or (conversation.kind != "public" and not conversation.member):
            raise ApiError("channel_not_found")
        if conversation.archived:
            raise ApiError("is_archived")
        if not conversation.member:
            raise ApiError("not_in_channel")
        return conversation

    def file_object(self, file_id: str) -> dict[str, Any]:
        """A stored file as Slack shows it in a message or ``files.info``."""
        upload = self.uploads[file_id]
        name = str(upload["filename"])
        url = upload.get("url") or f"{self.base}/files/{file_id}/{name}"
        file = {
            "id": file_id,
            "name": name,
            "title": upload.get("title") or name,
            "mimetype": mime_type(name),
            "size": upload.get("reported_size") or upload["length"],
            "mode": "hosted",
            "url_private": url,
            "url_private_download": url,
        }
        if upload.get("external"):
            del file["url_private_download"]
            file.update(mode="external", is_external=True, external_type="gdrive")
            file["external_url"] = url
        return file

    @staticmethod
    def connect_stub(file: dict[str, Any]) -> dict[str, Any]:
        """The file as an event shows it in a channel shared with another organisation:
        an id, no mimetype or URLs; ``files.info`` tells the rest."""
        return {
            "id": file["id"],
            "mode": "file_access",
            "file_access": "check_file_info",
            "created": 0,
            "timestamp": 0,
            "user": "",
        }


def mime_type(filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "webp": "image/webp",
    }.get(extension, "application/octet-stream")
