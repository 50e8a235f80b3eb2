"""Build the Bolt app and the aiohttp application that serves it."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import CONTENT_TYPE, Metrics
from bot.settings import Settings
from bot.slack.foreground import Foreground

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Each check by name (say "slack", "journal"): healthy when every one passes.
HealthCheck = Callable[[], Awaitable[dict[str, bool]]]


def _not_the_token_warning(record: logging.LogRecord) -> bool:
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that the
    # client we hand it (built from the same token) takes priority: noise.
    return "`token` will be unused" not in record.getMessage()


def build_bolt_app(
    settings: Settings, client: AsyncWebClient, identity: AsyncSlackResponse
) -> AsyncApp:
    """The Bolt app; ``identity`` is the ``auth.test`` answer the server got at start."""
    bolt_logger = logging.getLogger("bot.slack.bolt")
    if _not_the_token_warning not in bolt_logger.filters:
        bolt_logger.addFilter(_not_the_token_warning)
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        logger=bolt_logger,
        # Slack hears 200 only once the listener is done, so every acknowledged
        # request is journaled first (a crash after the 200 loses nothing); the
        # listeners only parse and journal, and leave the slow work to the runner.
        process_before_response=True,
    )
    # Bolt calls auth.test on the first request and caches it; a burst arriving
    # at a fresh process would make every request of it call auth.test. Hand it
    # the answer we already have.
    for middleware in app._async_middleware_list:
        if isinstance(middleware, AsyncSingleTeamAuthorization):
            middleware.auth_test_result = identity
    return app


def _bolt_request(raw: str, query: str, headers: dict[str, str]) -> AsyncBoltRequest:
    """Bolt's request, with its form-body trap closed.

    Bolt parses a form body that merely *contains* the word "payload" (say, a
    prompt about a rocket's payload) as an interactivity payload and finds
    nothing, so the command 404s. Re-parse such forms properly.
    """
    request = AsyncBoltRequest(body=raw, query=query, headers=headers)  # type: ignore[arg-type]
    if request.content_type == "application/x-www-form-urlencoded" and "payload" in raw:
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        body = json.loads(fields["payload"]) if "payload" in fields else fields
        if body != request.body:
            request.body = body
            request.context = build_async_context(AsyncBoltContext({}), body)
    return request


def build_web_app(
    bolt: AsyncApp | None,
    health: HealthCheck,
    metrics: Metrics | None = None,
    foreground: Foreground | None = None,
) -> web.Application:
    """``POST /slack/events`` (HTTP mode; ``bolt`` None in Socket Mode), ``GET /healthz``
    and ``GET /metrics`` (Prometheus). ``foreground`` counts the Slack requests being
    answered, so that work that can wait holds back until none is."""
    app = web.Application(client_max_size=1024**2)

    async def healthz(_: web.Request) -> web.Response:
        checks = await health()
        ok = all(checks.values())
        return web.json_response({"ok": ok, **checks}, status=200 if ok else 503)

    app.router.add_get("/healthz", healthz)
    if metrics is not None:
        exposition = metrics

        async def scrape(_: web.Request) -> web.Response:
            response = web.Response(body=exposition.exposition())
            response.headers["Content-Type"] = CONTENT_TYPE
            return response

        app.router.add_get("/metrics", scrape)
    if bolt is not None:
        counted = foreground or Foreground()

        async def events(request: web.Request) -> web.Response:
            with counted.answering():
                try:
                    raw = await request.text()
                    bolt_request = _bolt_request(raw, request.query_string, dict(request.headers))
                except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
                    # Not JSON, not UTF-8, or JSON that is not an object: not from Slack.
                    return web.json_response({"error": "malformed body"}, status=400)
                return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

        app.router.add_post(EVENTS_PATH, events)
    return app
