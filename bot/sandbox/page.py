"""The sandbox's web page and its small JSON/SSE API.

What a person does on the page is delivered to the bot as Slack would
(:mod:`bot.sandbox.actions`); what the bot does comes back from the Slack
stand-in's model, as the page shows it (:mod:`bot.sandbox.state`), and is
pushed to the page as it happens (server-sent events). Every request passes
:class:`~bot.sandbox.guard.SandboxGuard`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import json
import logging
import secrets
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox.actions import CHANNEL, DM, NotFound, SandboxActions
from bot.sandbox.guard import SandboxGuard, content_security_policy
from bot.sandbox.state import PageState
from bot.sandbox.transcript import Transcript, TranscriptError
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import SlackSender

logger = logging.getLogger(__name__)

MAX_TEXT = 40_000  # characters one message may have (Slack's own limit)
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="14" fill="#3f0e40"/>'
    '<path d="M14 18c4 22 20 34 40 30-4 8-14 11-24 8C16 52 9 36 14 18z" fill="#ffe135"/>'
    '<path d="M14 18l-3-6 6 3z" fill="#6b4f1d"/></svg>'
)


class SandboxPage:
    def __init__(
        self,
        slack: SlackStandIn,
        *,
        events_url: str,
        signing_secret: str,
        image_source: str,
        guard: SandboxGuard,
        transcript: Transcript | None = None,
    ) -> None:
        self._slack = slack
        self._guard = guard
        self._transcript = transcript
        self._session = aiohttp.ClientSession()
        self.actions = SandboxActions(
            slack, SlackSender(self._session, events_url, signing_secret), self._mark_changed
        )
        self._page_state = PageState(slack, self.actions, image_source)
        self._streams: dict[web.StreamResponse, float] = {}  # → when it connected
        self._changed = asyncio.Event()
        self._pusher: asyncio.Task[None] | None = None
        self._save_failed = False
        slack.listeners.append(self._on_change)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024**2)
        self._guard.install(app)
        app.router.add_get("/", self._index)
        app.router.add_get("/favicon.svg", self._favicon)
        app.router.add_get("/favicon.ico", self._favicon)
        app.router.add_get("/state", self._state)
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/files/{file_id}", self._file)
        app.router.add_post("/send", self._send)
        app.router.add_post("/action", self._action)
        app.router.add_post("/submit", self._submit)
        app.router.add_post("/shortcut", self._shortcut)
        app.router.add_post("/home", self._home)
        app.router.add_post("/panel", self._panel)
        app.router.add_post("/panel/viewing", self._panel_viewing)
        app.on_startup.append(self._start)
        return app

    def restore(self) -> int:
        """Bring back the last run's conversation; returns how many messages."""
        if self._transcript is None:
            return 0
        try:
            messages, uploads = self._transcript.load()
        except TranscriptError as exc:
            logger.warning("starting with an empty sandbox: %s", exc)
            return 0
        self._slack.restore(messages, uploads)
        return len(messages)

    async def _start(self, _: web.Application) -> None:
        self._pusher = asyncio.create_task(self._push_changes())

    async def close(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        await self._save()
        await self._session.close()
        for stream in list(self._streams):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await stream.write_eof()

    def _on_change(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "response":
            self.actions.on_response(data)
            return
        self._changed.set()

    def _mark_changed(self) -> None:
        self._changed.set()

    async def _push_changes(self) -> None:
        while True:
            await self._changed.wait()
            await asyncio.sleep(0.05)  # coalesce bursts of changes into one push
            self._changed.clear()
            for stream, since in list(self._streams.items()):
                try:
                    await stream.write(_event(self._page_state.snapshot(since)))
                except (ConnectionError, RuntimeError):
                    self._streams.pop(stream, None)
            await self._save()

    async def _save(self) -> None:
        if self._transcript is None:
            return
        try:
            await asyncio.to_thread(self._transcript.save, self._transcript.capture(self._slack))
        except TranscriptError:
            if not self._save_failed:  # once: it would fail again on every change
                logger.exception("the sandbox cannot keep its conversation across restarts")
            self._save_failed = True

    # ---- routes ------------------------------------------------------------------------
    async def _index(self, _: web.Request) -> web.Response:
        nonce = secrets.token_urlsafe(16)
        html = importlib.resources.files("bot.sandbox").joinpath("page.html").read_text("utf-8")
        html = (
            html.replace("<script>", f'<script nonce="{nonce}">')
            .replace("<style>", f'<style nonce="{nonce}">')
            .replace("{{token}}", self._guard.token)
        )
        return web.Response(
            text=html,
            content_type="text/html",
            headers={
                "Content-Security-Policy": content_security_policy(nonce),
                "Cache-Control": "no-store",
            },
        )

    async def _favicon(self, _: web.Request) -> web.Response:
        return web.Response(
            text=FAVICON,
            content_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    async def _state(self, _: web.Request) -> web.Response:
        return web.json_response(self._page_state.snapshot())

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await stream.prepare(request)
        since = time.monotonic()
        self._streams[stream] = since
        await stream.write(_event(self._page_state.snapshot(since)))
        try:
            while True:
                await asyncio.sleep(15)
                await stream.write(b": keep-alive\n\n")
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            self._streams.pop(stream, None)
        return stream

    async def _file(self, request: web.Request) -> web.Response:
        upload = self._slack.uploads.get(request.match_info["file_id"])
        if not upload or upload["data"] is None:
            raise web.HTTPNotFound()
        name = str(upload["filename"])
        kind = "image/jpeg" if name.endswith(".jpg") else f"image/{name.rsplit('.', 1)[-1]}"
        return web.Response(
            body=upload["data"],
            content_type=kind,
            headers={"Cache-Control": "private, max-age=31536000, immutable"},
        )

    async def _send(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        channel = str(body.get("channel") or CHANNEL)
        text = str(body.get("text") or "").strip()[:MAX_TEXT]
        thread_ts = str(body.get("thread_ts") or "") or None
        if channel not in (CHANNEL, DM) or not text:
            return web.json_response({"ok": False, "error": "nothing to send"}, status=400)
        ts = await self.actions.send(channel, text, thread_ts)
        return web.json_response({"ok": True, "ts": ts})

    async def _home(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": await self.actions.open_home()})

    async def _panel(self, request: web.Request) -> web.Response:
        viewing = _viewing(await _json_body(request))
        return web.json_response({"ok": True, "thread": await self.actions.open_panel(viewing)})

    async def _panel_viewing(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            await self.actions.panel_viewing(body.get("thread"), _viewing(body))
        except NotFound as exc:
            raise web.HTTPNotFound() from exc
        return web.json_response({"ok": True})

    async def _action(self, request: web.Request) -> web.Response:
        try:
            ok = await self.actions.click(await _json_body(request))
        except NotFound as exc:
            raise web.HTTPNotFound() from exc
        return web.json_response({"ok": ok})

    async def _submit(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            reply = await self.actions.submit(
                body.get("view_id"), body.get("value"), cancel=bool(body.get("cancel"))
            )
        except NotFound as exc:
            raise web.HTTPNotFound() from exc
        return web.json_response(reply)

    async def _shortcut(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            thread = await self.actions.shortcut(body.get("channel"), body.get("ts"))
        except NotFound as exc:
            raise web.HTTPNotFound() from exc
        return web.json_response({"ok": True, "thread": thread})


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="not JSON") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="not a JSON object")
    return body


def _viewing(body: dict[str, Any]) -> str | None:
    """The channel on screen, as the panel's context (the page has one channel)."""
    return CHANNEL if body.get("viewing") == CHANNEL else None


def _event(snapshot: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(snapshot, ensure_ascii=False)}\n\n".encode()
