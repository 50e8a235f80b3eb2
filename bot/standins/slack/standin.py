"""The Slack stand-in as a server: the workspace model behind the Web API, the
file upload URL, ``response_url`` and Socket Mode, over real HTTP.

Every call is recorded before anything else, so tests see what was tried even
when it failed; then faults, auth and Slack's post limit are applied in the
order Slack applies them, and the method goes to the part that knows it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.standins.serving import serve_locally
from bot.standins.slack.arguments import read_arguments
from bot.standins.slack.assistant import AssistantPanel
from bot.standins.slack.chat import ChatApi
from bot.standins.slack.directory import DirectoryApi
from bot.standins.slack.faults import Faults
from bot.standins.slack.files import FilesApi
from bot.standins.slack.socket_mode import SocketMode
from bot.standins.slack.views import ViewsApi
from bot.standins.slack.workspace import ApiError, Call, Handler, Message, Workspace


class SlackStandIn(Workspace):
    """The workspace, served. It is the model itself (not a holder of one) because
    tests and the sandbox read and arrange the workspace straight off the stand-in;
    the knobs of its parts (faults, delays, sockets) are forwarded below."""

    def __init__(self, *, bot_token: str = "xoxb-standin", app_token: str = "xapp-standin"):
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self.delays: dict[str, float] = {}  # Web API method → seconds it takes to answer
        self._runner: web.AppRunner | None = None
        self._faults = Faults()
        self.panel = AssistantPanel(self)
        self._files = FilesApi(self, self._faults, bot_token)
        self._socket_mode = SocketMode(self)
        # Every Web API method by name, to the part that answers it.
        self._methods: dict[str, Handler] = {
            **DirectoryApi(self).methods(),
            **ChatApi(self, self.panel).methods(),
            **ViewsApi(self).methods(),
            **self._files.methods(),
            **self._socket_mode.methods(),
            **self.panel.methods(),
        }

    def restore(self, messages: list[Message], uploads: dict[str, dict[str, Any]]) -> None:
        super().restore(messages, uploads)
        self.panel.restore(messages)

    # ---- serving ------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024**2)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._files.receive_upload)
        app.router.add_post("/response/{ref}", self._response_url)
        app.router.add_get("/socket", self._socket_mode.serve)
        app.router.add_get("/files/{file_id}/{name}", self._files.download)
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
        await self._socket_mode.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- Web API --------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await read_arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(args.pop("token", ""))
        self.calls.append(Call(method, args))
        if self._faults.down(method):
            return web.Response(status=503, text="service unavailable")
        error = self._faults.next_error(method)
        if error == "ratelimited":
            return _rate_limited()
        if error == "server_error":
            return web.Response(status=503, text="service unavailable")
        if error is not None:
            return web.json_response({"ok": False, "error": error})
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage" and not self._faults.may_post(str(args.get("channel", ""))):
            return _rate_limited()
        if method == "files.completeUploadExternal":
            await asyncio.sleep(self._files.share_delay)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        try:
            result = handler(args)
        except ApiError as exc:
            return web.json_response({"ok": False, "error": str(exc)})
        return web.json_response({"ok": True, **result})

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        ref = request.match_info["ref"]
        self.calls.append(Call("response_url", {"ref": ref, **body}))
        if self._faults.down("response_url"):
            return web.Response(status=503, text="service unavailable")
        self.responses.append({"ref": ref, **body})
        self.notify("response", {"ref": ref, **body})
        return web.Response(text="ok")

    # ---- what tests ask of the parts ------------------------------------------
    def fail(self, method: str, *errors: str) -> None:
        """The next calls of ``method`` fail with these errors (``ratelimited`` → HTTP 429)."""
        self._faults.fail(method, *errors)

    def outage(self, seconds: float, *methods: str) -> None:
        """Slack answers 503 for ``seconds`` from now: to every call, or to these
        methods (Web API names, ``upload`` for the bytes, ``response_url``)."""
        self._faults.outage(seconds, *methods)

    @property
    def post_limit(self) -> tuple[int, float] | None:
        """Slack's chat.postMessage limit per channel: (burst, posts per second)."""
        return self._faults.post_limit

    @post_limit.setter
    def post_limit(self, limit: tuple[int, float] | None) -> None:
        self._faults.post_limit = limit

    @property
    def upload_delay(self) -> float:
        """Seconds the upload URL takes to answer."""
        return self._files.upload_delay

    @upload_delay.setter
    def upload_delay(self, seconds: float) -> None:
        self._files.upload_delay = seconds

    @property
    def share_delay(self) -> float:
        """Seconds files.completeUploadExternal takes to answer."""
        return self._files.share_delay

    @share_delay.setter
    def share_delay(self, seconds: float) -> None:
        self._files.share_delay = seconds

    @property
    def refuse_sockets(self) -> bool:
        """apps.connections.open fails while set."""
        return self._socket_mode.refuse

    @refuse_sockets.setter
    def refuse_sockets(self, refuse: bool) -> None:
        self._socket_mode.refuse = refuse

    @property
    def socket_connected(self) -> asyncio.Event:
        return self._socket_mode.connected

    @property
    def open_connections(self) -> int:
        return self._socket_mode.open_connections

    @property
    def connections_opened(self) -> int:
        return self._socket_mode.connections_opened

    @property
    def envelope_connections(self) -> list[int]:
        """Which connection (numbered from 1) got each envelope."""
        return self._socket_mode.envelope_connections

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, limit: float = 5
    ) -> dict[str, Any]:
        """Push one Socket Mode envelope and wait for the app's ack."""
        return await self._socket_mode.send_envelope(
            kind, payload, retry_attempt=retry_attempt, limit=limit
        )

    async def drop_sockets(self) -> None:
        await self._socket_mode.drop_all()


def _rate_limited() -> web.Response:
    return web.json_response(
        {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
    )
