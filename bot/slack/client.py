"""The Slack Web API client: one per process, on a shared aiohttp session,
retrying connection errors, 429s (honouring Retry-After, in line) and 5xx,
and counting every call Slack refuses (by method and error code)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.http_headers import parse_retry_after
from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack.errors import error_code

RATE_LIMIT_RETRIES = 12


class LineUpRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Retries 429s after Retry-After, one call of a method per ``spacing`` seconds.

    A burst in one channel meets Slack's ~1 post/s there. Retried all at once
    after the same Retry-After, the waiting calls collide again and again
    (24 commands at 1 post/s: 176 calls and 2 requests lost); lined up, each
    waits for its own slot and goes through on its first retry.
    """

    def __init__(self, max_retry_count: int, metrics: Metrics, spacing: float = 1.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._metrics = metrics
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
        self._metrics.rate_limit_waits.labels(method).inc()
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


class CountingWebClient(AsyncWebClient):
    """Every Web API call goes through ``api_call``: the one place to count refusals."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            self._metrics.slack_error(api_method, error_code(exc))
            raise
        except SlackClientError:
            self._metrics.slack_error(api_method, "unreachable")
            raise


def create_web_client(
    settings: Settings, session: aiohttp.ClientSession, metrics: Metrics
) -> AsyncWebClient:
    return CountingWebClient(
        metrics=metrics,
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=120,  # uploads of 2K images are megabytes
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            LineUpRateLimitRetryHandler(max_retry_count=RATE_LIMIT_RETRIES, metrics=metrics),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
