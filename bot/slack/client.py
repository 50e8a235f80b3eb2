"""The Slack Web API client: one per process, on a shared aiohttp session,
retrying connection errors, 429s (honouring Retry-After, in line) and 5xx."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.http_headers import parse_retry_after
from bot.settings import Settings

RATE_LIMIT_RETRIES = 12


class LineUpRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Retries 429s after Retry-After, one call of a method per ``spacing`` seconds.

    A burst in one channel meets Slack's ~1 post/s there. Retried all at once
    after the same Retry-After, the waiting calls collide again and again
    (24 commands at 1 post/s: 176 calls and 2 requests lost); lined up, each
    waits for its own slot and goes through on its first retry.
    """

    def __init__(self, max_retry_count: int, spacing: float = 1.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._spacing = spacing
        self._next_slot: dict[str, float] = {}  # method → when its next retry may go

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("a rate-limit retry without a response")
        state.next_attempt_requested = True
        now = time.monotonic()
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        slot = max(now + _retry_after(response), self._next_slot.get(method, 0.0) + self._spacing)
        self._next_slot[method] = slot
        await asyncio.sleep(slot - now)
        state.increment_current_attempt()


def _retry_after(response: HttpResponse) -> float:
    """Slack's Retry-After in seconds; 1 s when it is missing or unreadable."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            seconds = parse_retry_after(values[0])
            return 1.0 if seconds is None else seconds
    return 1.0


def create_web_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=120,  # uploads of 2K images are megabytes
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            LineUpRateLimitRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
