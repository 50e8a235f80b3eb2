"""Web API arguments, read and checked the way Slack reads them: from the query
string, a form or a JSON body, with JSON-encoded fields (``blocks``,
``metadata``) decoded and Block Kit's limits enforced."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.standins.slack.workspace import ApiError


async def read_arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update(dict(await request.post()))
    return args


def thread_of(args: dict[str, Any]) -> str | None:
    value = args.get("thread_ts")
    return str(value) if value else None


def metadata_of(args: dict[str, Any]) -> dict[str, Any] | None:
    metadata = args.get("metadata")
    if isinstance(metadata, str) and metadata:
        metadata = json.loads(metadata)
    return metadata if isinstance(metadata, dict) else None


def blocks_of(args: dict[str, Any]) -> list[Any]:
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    blocks = blocks if isinstance(blocks, list) else []
    check_blocks(blocks)
    return blocks


def check_blocks(blocks: list[Any], most: int = 50) -> None:
    """Slack refuses a whole message or view over its Block Kit limits."""
    if len(blocks) > most:
        raise ApiError("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict):
            raise ApiError("invalid_blocks")
        text, element = block.get("text"), block.get("element")
        if isinstance(text, dict) and len(str(text.get("text", ""))) > 3000:
            raise ApiError("invalid_blocks")
        if isinstance(element, dict) and len(str(element.get("initial_value", ""))) > 3000:
            raise ApiError("invalid_arguments")
