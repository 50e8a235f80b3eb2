"""A stand-in for the Slack Web API, the file upload URL, ``response_url`` and
Socket Mode, speaking Slack's wire formats over real HTTP.

It keeps a small model of the workspace (conversations, messages, threads,
reactions, files, ephemerals) and records every call, so tests and the
sandbox can see exactly what reached "Slack". Arguments are accepted as
query string, form or JSON, like Slack. Faults are queued per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.standins.assistant import ApiError, AssistantPanel
from bot.standins.serving import serve_locally

BOT_USER = "UBANANA"
BOT_ID = "BBANANA"
TEAM = "T0000BANANA"
Listener = Callable[[str, dict[str, Any]], None]


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


class SlackStandIn:
    def __init__(self, *, bot_token: str = "xoxb-standin", app_token: str = "xapp-standin"):
        self.bot_token = bot_token
        self.app_token = app_token
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
        self._faults: dict[str, deque[str]] = defaultdict(deque)
        self._down_until = 0.0  # an outage (see ``outage``) lasts until then
        self._down_methods: frozenset[str] = frozenset()
        self._clock = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        # Open Socket Mode connections, oldest first; Slack hands each envelope to one
        # of them (an app may hold up to 10: one per replica), here in turn.
        self._sockets: list[web.WebSocketResponse] = []
        self._next_socket = 0
        self.connections_opened = 0
        self.envelope_connections: list[int] = []  # which connection (numbered from 1) got each
        self._socket_numbers: dict[int, int] = {}  # id(socket) → its number
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.socket_connected = asyncio.Event()
        self.refuse_sockets = False  # apps.connections.open fails while set
        self.upload_delay = 0.0  # seconds the upload URL takes to answer
        self.share_delay = 0.0  # seconds files.completeUploadExternal takes to answer
        self.delays: dict[str, float] = {}  # Web API method → seconds it takes to answer
        # Slack's chat.postMessage limit, ~1 post/s per channel with short bursts:
        # (burst, posts per second) when set; over it → 429 with Retry-After.
        self.post_limit: tuple[int, float] | None = None
        self._post_buckets: dict[str, tuple[float, float]] = {}  # channel → (tokens, at)
        self.base = ""
        self.panel = AssistantPanel(self)
        self.add_conversation("C0GENERAL", "general")

    # ---- the workspace model ------------------------------------------------
    def add_conversation(
        self, id: str, name: str, kind: str = "public", *, member: bool = True, user: str = ""
    ) -> Conversation:
        conversation = Conversation(id, name, kind, member, user or None)
        self.conversations[id] = conversation
        return conversation

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    def add_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A message typed by a person (the sandbox and tests call this)."""
        message = Message(channel, self.next_ts(), user, text, thread_ts)
        self.messages.append(message)
        self._notify("message", message.view())
        return message

    def restore(self, messages: list[Message], uploads: dict[str, dict[str, Any]]) -> None:
        """Bring back a saved workspace (the sandbox's transcript, after a restart).

        Files get this run's URLs; new ids continue after the restored ones."""
        self.uploads.update(uploads)
        for message in messages:
            message.files = [
                self._file_object(f["id"]) for f in message.files if f.get("id") in self.uploads
            ]
        self.messages[:0] = messages
        self.panel.restore(messages)
        numbers = [int(i[1:]) for i in self.uploads if i[1:].isdigit()]
        self._ids = itertools.count(max(numbers, default=0) + 1)

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

    def fail(self, method: str, *errors: str) -> None:
        """The next calls of ``method`` fail with these errors (``ratelimited`` → HTTP 429)."""
        self._faults[method].extend(errors)

    def outage(self, seconds: float, *methods: str) -> None:
        """Slack answers 503 for ``seconds`` from now: to every call, or to these
        methods (Web API names, ``upload`` for the bytes, ``response_url``)."""
        self._down_until = time.monotonic() + seconds
        self._down_methods = frozenset(methods)

    def _down(self, method: str) -> bool:
        if time.monotonic() >= self._down_until:
            return False
        return not self._down_methods or method in self._down_methods

    def notify(self, kind: str, data: dict[str, Any]) -> None:
        self._notify(kind, data)

    def open_im(self, user: str) -> str:
        """The DM between the bot and ``user`` (opened if need be)."""
        return str(self._conversations_open({"users": user})["channel"]["id"])

    def _notify(self, kind: str, data: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(kind, data)

    # ---- serving ------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024**2)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{ref}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/files/{file_id}/{name}", self._file)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve; returns the Web API base URL (``.../api/``), as ``SLACK_API_URL`` takes it."""
        self._runner, bound = await serve_locally(self.app(), host, port)
        self.base = f"http://{host}:{bound}"
        return self.api_url

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, ref: str) -> str:
        return f"{self.base}/response/{ref}"

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- Web API --------------------------------------------------------------
    async def _arguments(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                args.update(dict(await request.post()))
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(args.pop("token", ""))
        self.calls.append(Call(method, args))
        if self._down(method):
            return web.Response(status=503, text="service unavailable")
        if self._faults[method]:
            error = self._faults[method].popleft()
            if error == "ratelimited":
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            if error == "server_error":
                return web.Response(status=503, text="service unavailable")
            return web.json_response({"ok": False, "error": error})
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage" and not self._may_post(str(args.get("channel", ""))):
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if method == "files.completeUploadExternal":
            await asyncio.sleep(self.share_delay)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        owner: Any = self.panel if method.startswith("assistant.") else self
        handler = getattr(owner, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        try:
            result: dict[str, Any] = handler(args)
        except _Error as exc:
            return web.json_response({"ok": False, "error": str(exc)})
        return web.json_response({"ok": True, **result})

    def _may_post(self, channel: str) -> bool:
        if self.post_limit is None:
            return True
        burst, rate = self.post_limit
        now = time.monotonic()
        tokens, at = self._post_buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        allowed = tokens >= 1
        self._post_buckets[channel] = (tokens - 1 if allowed else tokens, now)
        return allowed

    def _writable(self, channel: str) -> Conversation:
        conversation = self.conversations.get(channel)
        if conversation is None or (conversation.kind != "public" and not conversation.member):
            raise _Error("channel_not_found")
        if conversation.archived:
            raise _Error("is_archived")
        if not conversation.member:
            raise _Error("not_in_channel")
        return conversation

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "team_id": TEAM,
            "user": "banana",
            "team": "Banana Sandbox",
            "url": f"{self.base}/",
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """A person, with their language when asked (``include_locale``), as Slack does."""
        user = str(args.get("user", ""))
        if user[:1] not in ("U", "W"):
            raise _Error("user_not_found")
        person: dict[str, Any] = {"id": user, "team_id": TEAM, "name": user.lower()}
        if str(args.get("include_locale", "")).lower() in ("true", "1"):
            person["locale"] = self.locales.get(user, self.default_locale)
        return {"user": person}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """The workspace's people (those whose language is set in ``locales``), a page at
        a time (``limit``, ``cursor``), with their language when asked, as Slack does."""
        people = sorted(self.locales)
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        with_locale = str(args.get("include_locale", "")).lower() in ("true", "1")
        members = [
            {"id": user, "team_id": TEAM, "name": user.lower()}
            | ({"locale": self.locales[user]} if with_locale else {})
            for user in people[start : start + limit]
        ]
        more = start + limit < len(people)
        return {
            "members": members,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _post(self, args: dict[str, Any], ephemeral_to: str | None = None) -> Message:
        channel = str(args.get("channel", ""))
        self._writable(channel)
        message = Message(
            channel,
            self.next_ts(),
            BOT_USER,
            str(args.get("text", "")),
            _thread(args),
            _blocks(args),
            ephemeral_to=ephemeral_to,
            metadata=_metadata(args),
        )
        self.messages.append(message)
        if message.thread_ts and not ephemeral_to:  # Slack: a reply ends the "is drawing…"
            self.panel.replied(message.channel, message.thread_ts)
        self._notify("message", message.view())
        return message

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._post(args)
        return {"channel": message.channel, "ts": message.ts, "message": message.view()}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._post(args, ephemeral_to=str(args.get("user", ""))).ts}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        if self.conversations.get(message.channel, Conversation("", "")).archived:
            raise _Error("is_archived")
        message.text = str(args.get("text", message.text))
        message.blocks = _blocks(args) or message.blocks
        message.metadata = _metadata(args) or message.metadata
        message.edits += 1
        self._notify("update", message.view())
        return {"channel": message.channel, "ts": message.ts, "text": message.text}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        message.deleted = True
        self._notify("delete", message.view())
        return {"channel": message.channel, "ts": message.ts}

    def _existing(self, args: dict[str, Any]) -> Message:
        timestamp = str(args.get("ts") or args.get("timestamp") or "")
        message = self.find(str(args.get("channel", "")), timestamp)
        if message is None or message.deleted:
            raise _Error("message_not_found")
        return message

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        users = message.reactions.setdefault(str(args.get("name")), set())
        if BOT_USER in users:
            raise _Error("already_reacted")
        users.add(BOT_USER)
        self._notify("update", message.view())
        return {}

    def _reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(args)
        users = message.reactions.get(str(args.get("name")), set())
        if BOT_USER not in users:
            raise _Error("no_reaction")
        users.discard(BOT_USER)
        self._notify("update", message.view())
        return {}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self.conversations.get(str(args.get("channel", "")))
        if conversation is None or conversation.kind != "public":
            raise _Error(
                "channel_not_found"
                if conversation is None
                else "method_not_supported_for_channel_type"
            )
        conversation.member = True
        return {"channel": {"id": conversation.id, "name": conversation.name}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self.conversations.get(str(args.get("channel", "")))
        if conversation is None or (conversation.kind == "private" and not conversation.member):
            raise _Error("channel_not_found")
        return {"channel": {"id": conversation.id, "name": conversation.name}}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if self.find(channel, ts) is None:
            raise _Error("thread_not_found")
        thread = [
            m.view()
            for m in self.visible(channel)
            if m.ts == ts or (m.thread_ts == ts and float(m.ts) >= float(args.get("oldest") or 0))
        ]
        limit = int(args.get("limit") or 1000)
        return {"messages": thread[:limit], "has_more": len(thread) > limit}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("users", ""))
        if not user or "," in user:
            raise _Error("invalid_arguments")
        for conversation in self.conversations.values():
            if conversation.kind == "im" and conversation.user == user:
                return {"channel": {"id": conversation.id}}
        conversation = self.add_conversation(f"D{next(self._ids):06d}{user}", user, "im", user=user)
        return {"channel": {"id": conversation.id}}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.refuse_sockets:
            raise _Error("service_unavailable")
        return {"url": self.base.replace("http://", "ws://") + "/socket"}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id", ""))
        view = self._view(args, ok=bool(user), kind="home")
        self.home_views[user] = view
        self._notify("home", view)
        return {"view": view}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view(args, ok=bool(args.get("trigger_id")), kind="modal")
        self.views.append(view)
        self._notify("view", view)
        return {"view": view}

    def _view(self, args: dict[str, Any], *, ok: bool, kind: str) -> dict[str, Any]:
        """The view argument, checked as Slack checks it, with an id of its own."""
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not ok or not isinstance(view, dict) or view.get("type") != kind:
            raise _Error("invalid_arguments")
        _check_blocks(view.get("blocks", []), most=100)
        return {"id": f"V{next(self._ids):08d}", **view}

    # ---- files ------------------------------------------------------------------
    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit():
            raise _Error("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = {"filename": filename, "length": int(str(length)), "data": None}
        return {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.calls.append(
            Call(
                "upload",
                {
                    "file_id": file_id,
                    "length": len(data),
                    "content_length": request.headers.get("Content-Length"),
                },
            )
        )
        await asyncio.sleep(self.upload_delay)
        if self._down("upload"):
            return web.Response(status=503, text="service unavailable")
        if self._faults["upload"]:
            self._faults["upload"].popleft()
            return web.Response(status=500, text="upload failed")
        upload = self.uploads.get(file_id)
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        if "Authorization" in request.headers:
            return web.Response(status=400, text="the upload URL takes no auth header")
        if len(data) != upload["length"]:
            return web.Response(
                status=400, text=f"expected {upload['length']} bytes, got {len(data)}"
            )
        upload["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        entries = json.loads(files) if isinstance(files, str) else files
        if not isinstance(entries, list) or not entries:
            raise _Error("invalid_arguments")
        channel = args.get("channel_id") or args.get("channels")
        if channel:
            self._writable(str(channel))
        shared: list[dict[str, Any]] = []
        for entry in entries:
            upload = self.uploads.get(str(entry.get("id")))
            if upload is None or upload["data"] is None:
                raise _Error("file_not_found")
            upload["title"] = entry.get("title")
            shared.append(self._file_object(str(entry["id"])))
        if channel:
            message = Message(
                str(channel),
                self.next_ts(),
                BOT_USER,
                str(args.get("initial_comment") or ""),
                _thread(args),
                files=shared,
            )
            self.messages.append(message)
            self._notify("message", message.view())
        return {"files": shared}

    async def _file(self, request: web.Request) -> web.Response:
        self.calls.append(Call("download", {"file_id": request.match_info["file_id"]}))
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            # What Slack does: a 200 with its sign-in page, not the file.
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None or upload["data"] is None or upload.get("deleted"):
            return web.Response(status=404)
        if upload.get("redirect"):
            raise web.HTTPFound(str(upload["redirect"]))
        return web.Response(body=upload["data"], content_type=_mime(upload["filename"]))

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
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = {
            "filename": name,
            "length": len(data),
            "data": data,
            "url": url,
            "external": external,
            "redirect": redirect,
            "reported_size": reported_size,
        }
        return self._file_object(file_id)

    def _file_object(self, file_id: str) -> dict[str, Any]:
        upload = self.uploads[file_id]
        name = str(upload["filename"])
        url = upload.get("url") or f"{self.base}/files/{file_id}/{name}"
        file = {
            "id": file_id,
            "name": name,
            "title": upload.get("title") or name,
            "mimetype": _mime(name),
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

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file", ""))
        upload = self.uploads.get(file_id)
        if upload is None or upload["data"] is None or upload.get("deleted"):
            raise _Error("file_not_found")
        return {"file": {**self._file_object(file_id), "shares": self._shares(file_id)}}

    def _shares(self, file_id: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Slack's ``shares``: per public or private conversation, the messages
        that carry the file (their ts is what deletes them)."""
        shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for message in self.visible():
            if any(f["id"] == file_id for f in message.files):
                conversation = self.conversations.get(message.channel)
                kind = "public" if conversation and conversation.kind == "public" else "private"
                share = {
                    "ts": message.ts,
                    "channel_name": conversation.name if conversation else "",
                }
                if message.thread_ts:
                    share["thread_ts"] = message.thread_ts
                shares.setdefault(kind, {}).setdefault(message.channel, []).append(share)
        return shares

    def _files_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file", ""))
        upload = self.uploads.get(file_id)
        if upload is None or upload.get("deleted"):
            raise _Error("file_not_found")
        upload["deleted"] = True
        for message in self.messages:
            if any(f["id"] == file_id for f in message.files):
                message.files = [f for f in message.files if f["id"] != file_id]
                if not message.files and not message.text:
                    message.deleted = True
                self._notify("update", message.view())
        return {}

    # ---- response_url -------------------------------------------------------------
    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        ref = request.match_info["ref"]
        self.calls.append(Call("response_url", {"ref": ref, **body}))
        if self._down("response_url"):
            return web.Response(status=503, text="service unavailable")
        self.responses.append({"ref": ref, **body})
        self._notify("response", {"ref": ref, **body})
        return web.Response(text="ok")

    # ---- Socket Mode ----------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        self.connections_opened += 1
        self._socket_numbers[id(socket)] = self.connections_opened
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "connection_info": {"app_id": "A0BANANA"},
            }
        )
        self.socket_connected.set()
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(frame.data)
                future = self._acks.pop(str(ack.get("envelope_id")), None)
                if future is not None and not future.done():
                    future.set_result(ack)
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self.socket_connected.clear()
        return socket

    @property
    def open_connections(self) -> int:
        return len(self._sockets)

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, limit: float = 5
    ) -> dict[str, Any]:
        """Push one Socket Mode envelope and wait for the app's ack."""
        await asyncio.wait_for(self.socket_connected.wait(), limit)
        envelope_id = f"env-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        socket = self._sockets[self._next_socket % len(self._sockets)]
        self._next_socket += 1
        self.envelope_connections.append(self._socket_numbers[id(socket)])
        await socket.send_json(envelope)
        return await asyncio.wait_for(future, limit)

    async def drop_sockets(self) -> None:
        for socket in list(self._sockets):
            await socket.close()


_Error = ApiError


def _thread(args: dict[str, Any]) -> str | None:
    value = args.get("thread_ts")
    return str(value) if value else None


def _metadata(args: dict[str, Any]) -> dict[str, Any] | None:
    metadata = args.get("metadata")
    if isinstance(metadata, str) and metadata:
        metadata = json.loads(metadata)
    return metadata if isinstance(metadata, dict) else None


def _blocks(args: dict[str, Any]) -> list[Any]:
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    blocks = blocks if isinstance(blocks, list) else []
    _check_blocks(blocks)
    return blocks


def _check_blocks(blocks: list[Any], most: int = 50) -> None:
    """Slack refuses a whole message or view over its Block Kit limits."""
    if len(blocks) > most:
        raise _Error("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict):
            raise _Error("invalid_blocks")
        text, element = block.get("text"), block.get("element")
        if isinstance(text, dict) and len(str(text.get("text", ""))) > 3000:
            raise _Error("invalid_blocks")
        if isinstance(element, dict) and len(str(element.get("initial_value", ""))) > 3000:
            raise _Error("invalid_arguments")


def _mime(filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "webp": "image/webp",
    }.get(extension, "application/octet-stream")
