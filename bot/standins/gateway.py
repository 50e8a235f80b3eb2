"""A stand-in for the image gateway: the seed's protocol, with fault modes.

Each request takes the next mode from :meth:`GatewayStandIn.queue` (else the
default mode); a prompt containing ``[standin:MODE]`` forces that mode, so
processes that cannot reach the object (the bot under test, the sandbox's
users) can still ask for a fault.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.generation.model import PIXEL_SIZES, pixel_size
from bot.preview import render_noise_png, render_preview
from bot.standins import hostile
from bot.standins.serving import serve_locally

PATH = "/gpt/openapi/online/multimodal/crawl"
MODES = (
    "ok",
    "rate_limit",  # 429 with Retry-After
    "server_error",  # 500
    "unavailable",  # 503 "model is overloaded"
    "slow",  # answers after ``slow_seconds``
    "text_only",  # 200 with words and no image
    "safety",  # 200, no image, finish_reason IMAGE_SAFETY
    "code_error",  # 200 with code != 0
    "error_object",  # 200 with {"error": {...}}
    "not_json",
    "bad_base64",
    "not_image",  # valid base64 of bytes that are no image
    "two_images",
    "jpeg",
    "no_data",  # choices at the top level, no data wrapper
    "thought",  # an interim thought image before the final one
    "noise",  # an incompressible PNG of the published size
    *hostile.HOSTILE_MODES,  # trickles, floods, garbled encodings: see hostile.py
    "bad_request",  # 400 with a message (``words`` when set)
    "stopped",  # 200, no image, finish_reason ``words`` (or OTHER)
)
_DIRECTIVE = re.compile(r"\[standin:([a-z_]+)\]")


@dataclass
class RecordedRequest:
    logid: str
    key: str
    prompt: str
    aspect_ratio: str
    size: str
    body: dict[str, Any]
    mode: str
    inputs: int = 0
    at: float = field(default_factory=time.monotonic)
    sent: int = 0  # bytes of a streamed hostile answer written before the client hung up
    peer: str = ""  # the client's address and port: which connection it came on


class GatewayStandIn:
    def __init__(
        self,
        *,
        api_key: str = "standin-key",
        latency: float = 0.0,
        latency_spread: float = 0.0,
        slow_seconds: float = 5.0,
        trickle_interval: float = 1.0,
        retry_after: int = 1,
        default_mode: str = "ok",
        label: str = "",
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.latency_spread = latency_spread  # each answer takes up to this much longer
        self.slow_seconds = slow_seconds
        self.trickle_interval = trickle_interval
        self.retry_after = retry_after
        self.default_mode = default_mode
        self.label = label
        # When set, what the model and the gateway say instead of their usual words
        # (ok, text_only, stopped, code_error, error_object, bad_request): outside text.
        self.words: str | None = None
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[str] = deque()
        # Previews of one prompt are numbered takes (a re-roll, each of --n 3) and
        # seeded by the call's logid, so no two calls draw the same picture.
        self._takes: Counter[str] = Counter()
        # The incompressible answer is megabytes of JSON: built once per shape.
        self._noise_bodies: dict[tuple[str, str], bytes] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def queue(self, *modes: str) -> None:
        """The next requests answer with these modes, in order."""
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            raise ValueError(f"unknown modes {unknown}; known: {MODES}")
        self._script.extend(modes)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_post(PATH, self._handle)
        app.router.add_post("/_standin/queue", self._handle_queue)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); returns the endpoint URL."""
        self._runner, bound = await serve_locally(self.app(), host, port)
        self.url = f"http://{host}:{bound}{PATH}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle_queue(self, request: web.Request) -> web.Response:
        self.queue(*await request.json())
        return web.json_response({"ok": True})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("ak", "")
        logid = request.headers.get("X-TT-LOGID", "")
        try:
            body = json.loads(await request.read())
            prompt = body["messages"][0]["content"][0]["text"]
            config = body["image_config"]
            ratio, size = config["aspectRatio"], config["imageSize"]
        except (ValueError, KeyError, IndexError, TypeError):
            return web.json_response({"code": 400, "msg": "invalid request body"}, status=400)
        directive = _DIRECTIVE.search(prompt)
        mode = directive.group(1) if directive else None
        if mode not in MODES:
            mode = self._script.popleft() if self._script else self.default_mode
        parts = body["messages"][0]["content"]
        inputs = [p for p in parts if isinstance(p, dict) and p.get("type") == "image_url"]
        if any(
            not str(p.get("image_url", {}).get("url", "")).startswith("data:image/") for p in inputs
        ):
            return web.json_response({"code": -1013, "msg": "Provided image is not valid"})
        record = RecordedRequest(logid, key, prompt, ratio, size, body, mode, len(inputs))
        record.peer = str(request.transport.get_extra_info("peername")) if request.transport else ""
        self.requests.append(record)

        if key != self.api_key:
            return web.json_response({"code": 401, "msg": "invalid ak"}, status=401)
        if ratio not in PIXEL_SIZES or size not in ("1K", "2K") or not logid:
            return web.json_response(
                {"code": 400, "msg": f"invalid image_config {ratio!r} {size!r}"}, status=400
            )
        extra = random.uniform(0, self.latency_spread) if self.latency_spread else 0.0
        await asyncio.sleep(self.latency + extra + (self.slow_seconds if mode == "slow" else 0))
        if mode in hostile.HOSTILE_MODES:
            return await hostile.reply(mode, request, record, self.trickle_interval)
        label = f"edit of {len(inputs)} image(s)" if inputs else self.label
        return await self._reply(mode, prompt, ratio, size, label, logid)

    async def _reply(
        self, mode: str, prompt: str, ratio: str, size: str, label: str = "", logid: str = ""
    ) -> web.StreamResponse:
        if mode == "noise":
            body = self._noise_bodies.get((ratio, size))
            if body is None:
                body = await asyncio.to_thread(self._noise_body, ratio, size)
                self._noise_bodies[(ratio, size)] = body
            return web.Response(body=body, content_type="application/json")
        if mode == "rate_limit":
            return web.json_response(
                {"code": 429, "msg": "capacity exhausted"},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if mode in ("server_error", "unavailable"):
            status = 500 if mode == "server_error" else 503
            return web.json_response({"code": status, "msg": "model is overloaded"}, status=status)
        if mode == "not_json":
            return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
        if mode == "bad_request":
            return web.json_response({"code": 400, "msg": self.words or "bad request"}, status=400)
        if mode == "code_error":
            return web.json_response(
                {"code": -1013, "msg": self.words or "Provided image is not valid"}
            )
        if mode == "error_object":
            code, message = (self.words, self.words) if self.words else (500, "internal error")
            return web.json_response({"error": {"code": code, "message": message}})
        said = self.words or "好的，为你生成图片。"
        contents: list[dict[str, Any]] = [{"type": "text", "text": said}]
        finish = "stop"
        if mode == "text_only":
            said = self.words or "I can't draw that, but I can describe it."
            contents = [{"type": "text", "text": said}]
        elif mode == "stopped":
            contents, finish = [], self.words or "OTHER"
        elif mode == "safety":
            contents, finish = [], "IMAGE_SAFETY"
        elif mode == "bad_base64":
            contents.append(_inline("image/png", "this is not base64!!"))
        elif mode == "not_image":
            contents.append(_inline("image/png", base64.b64encode(b"plain text").decode()))
        else:
            shown = _DIRECTIVE.sub("", prompt).strip()
            takes = [self._next_take(shown) for _ in range(2 if mode == "two_images" else 1)]
            images = await asyncio.to_thread(
                self._images, mode, shown, ratio, size, label, takes, logid
            )
            if mode == "thought":
                thought = _inline("image/png", images[0][1])
                contents.append({**thought, "thought": True})
            contents.extend(_inline(mime, data) for mime, data in images)
        choices = [{"finish_reason": finish, "message": {"multimodal_contents": contents}}]
        envelope: dict[str, Any] = {"code": 0, "msg": "success"}
        if mode == "no_data":
            envelope["choices"] = choices
        else:
            envelope["data"] = {"choices": choices}
        return web.json_response(envelope)

    def _noise_body(self, ratio: str, size: str) -> bytes:
        png = render_noise_png(*pixel_size(ratio, size))
        contents = [
            {"type": "text", "text": "好的，为你生成图片。"},
            _inline("image/png", base64.b64encode(png).decode()),
        ]
        choices = [{"finish_reason": "stop", "message": {"multimodal_contents": contents}}]
        return json.dumps({"code": 0, "msg": "success", "data": {"choices": choices}}).encode()

    def _next_take(self, prompt: str) -> int:
        self._takes[prompt] += 1
        return self._takes[prompt]

    def _images(
        self,
        mode: str,
        prompt: str,
        ratio: str,
        size: str,
        label: str,
        takes: list[int],
        seed: str,
    ) -> list[tuple[str, str]]:
        image_format, mime = ("JPEG", "image/jpeg") if mode == "jpeg" else ("PNG", "image/png")
        return [
            (mime, base64.b64encode(data).decode())
            for data in (
                render_preview(prompt, ratio, size, image_format, label, take, seed)
                for take in takes
            )
        ]


def _inline(mime: str, data: str) -> dict[str, Any]:
    return {"type": "inline_data", "inline_data": {"mime_type": mime, "data": data}}
