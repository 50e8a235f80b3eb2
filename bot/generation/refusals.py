"""What a gateway's non-200 answer means: a typed error, with a short reason taken
from at most the first 64 KB of its body (an error body is untrusted, and may be
endless) and scrubbed of the key (gateways echo request URLs)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from bot.generation.errors import BadRequest, KeyRejected, RateLimited, UpstreamUnavailable
from bot.http_headers import parse_retry_after

MAX_ERROR_BYTES = 64 * 1024


async def raise_for_status(
    response: httpx.Response, logid: str, redact: Callable[[str], str]
) -> None:
    """Raise the error a non-200 answer means, its reason scrubbed by ``redact``."""
    status = response.status_code
    if status == 200:
        return
    detail = redact(_detail(await _read_at_most(response, MAX_ERROR_BYTES)))
    if status in (401, 403):
        raise KeyRejected(
            f"the gateway rejected the key ({status}{detail})", status=status, logid=logid
        )
    if status == 429:
        raise RateLimited(
            f"the gateway is rate limiting ({status}{detail})",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            logid=logid,
        )
    if status >= 500 or status == 408:
        raise UpstreamUnavailable(
            f"the gateway is unavailable ({status}{detail})", status=status, logid=logid
        )
    raise BadRequest(
        f"the gateway refused the request ({status}{detail})", status=status, logid=logid
    )


def _detail(body: bytes) -> str:
    """A short reason from an error body, never more than one line. A body cut at
    its ceiling is no JSON, so it gives none."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(parsed, dict):
        return ""
    error = parsed.get("error")
    message = error.get("message") if isinstance(error, dict) else parsed.get("msg") or error
    return f": {str(message).splitlines()[0][:200]}" if message else ""


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The body's first ``limit`` bytes; the rest is never read (the connection closes)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk[: limit - len(body)]
        if len(body) >= limit:
            break
    return bytes(body)
