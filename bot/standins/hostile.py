"""The gateway stand-in's hostile answers: a host that trickles, floods or garbles.

Floods are written in slices as they are made, never held whole, and each
records in :attr:`RecordedRequest.sent` how much of itself was written before
the client hung up: a client that stops reading at its ceiling leaves most of
a flood unsent.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Iterator
from typing import Any, Protocol

from aiohttp import web

from bot.preview import render_preview

HOSTILE_MODES = (
    "trickle",  # a valid answer, one byte every ``trickle_interval`` seconds
    "oversized",  # 200 whose image string runs to ``FLOOD_BYTES``, chunked (no length)
    "oversized_declared",  # the same with a Content-Length that says so up front
    "huge_error",  # 503 with ``ERROR_FLOOD_BYTES`` of HTML
    "bad_gzip",  # 200 that says gzip and is not
    "echo_url",  # 400 whose message quotes the request URL, key and all
)
FLOOD_BYTES = 128 * 1024 * 1024  # twice any sane ceiling on an answer
ERROR_FLOOD_BYTES = 64 * 1024 * 1024
_SLICE = 1024 * 1024


class Recorded(Protocol):
    sent: int


async def reply(
    mode: str, request: web.Request, record: Recorded, trickle_interval: float
) -> web.StreamResponse:
    """The answer for one of :data:`HOSTILE_MODES`."""
    if mode == "echo_url":
        return web.json_response({"code": 400, "msg": f"bad request {request.url}"}, status=400)
    if mode == "bad_gzip":
        return web.Response(
            body=b"this is not gzip",
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
    if mode == "trickle":
        body = json.dumps(_answer(_tiny_png_base64())).encode()
        return await _stream(request, record, 200, _bytes_of(body), delay=trickle_interval)
    if mode == "huge_error":
        page = b"<p>model is overloaded</p>" * (_SLICE // 26)
        pages = itertools.repeat(page, ERROR_FLOOD_BYTES // len(page))
        return await _stream(request, record, 503, pages, content_type="text/html")
    head, tail = json.dumps(_answer("\0")).encode().split(b"\\u0000")
    image = base64.b64encode(_padded_png()) + b"A" * (_SLICE - 64)  # base64 of zero bytes
    filler = b"A" * _SLICE
    count = (FLOOD_BYTES - len(head) - len(image) - len(tail)) // _SLICE
    total = len(head) + len(image) + count * _SLICE + len(tail)
    slices = itertools.chain([head, image], itertools.repeat(filler, count), [tail])
    length = total if mode == "oversized_declared" else None
    return await _stream(request, record, 200, slices, length=length)


async def _stream(
    request: web.Request,
    record: Recorded,
    status: int,
    slices: Iterator[bytes],
    *,
    content_type: str = "application/json",
    length: int | None = None,
    delay: float = 0.0,
) -> web.StreamResponse:
    response = web.StreamResponse(status=status, headers={"Content-Type": content_type})
    if length is not None:
        response.content_length = length
    await response.prepare(request)
    try:
        for piece in slices:
            await response.write(piece)
            record.sent += len(piece)
            if delay:
                await asyncio.sleep(delay)
        await response.write_eof()
    except ConnectionError:
        pass  # the client hung up, as a careful client does
    return response


def _answer(image_data: str) -> dict[str, Any]:
    inline = {"type": "inline_data", "inline_data": {"mime_type": "image/png", "data": image_data}}
    message = {"multimodal_contents": [{"type": "text", "text": "好的"}, inline]}
    return {
        "code": 0,
        "msg": "success",
        "data": {"choices": [{"finish_reason": "stop", "message": message}]},
    }


def _padded_png() -> bytes:
    """A real PNG, zero-padded to whole base64 quartets so filler can follow it."""
    png = render_preview("flood", "1:1", "1K")
    return png + b"\0" * (-len(png) % 3)


def _tiny_png_base64() -> str:
    return base64.b64encode(render_preview("trickle", "1:1", "1K")).decode()


def _bytes_of(body: bytes) -> Iterator[bytes]:
    return (body[i : i + 1] for i in range(len(body)))
