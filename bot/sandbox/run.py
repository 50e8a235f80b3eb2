"""Start the stand-ins, the real bot (HTTP mode, signed requests) and the web page.

With ``BANANA_API_KEY`` set, images come from the real gateway; without it,
from the gateway stand-in's offline preview images (labelled as such).

The page listens on 127.0.0.1 only, whatever ``HOST`` says (the Docker image
sets ``HOST=0.0.0.0`` for the Slack bot): only ``BANANA_SANDBOX_HOST`` puts it
anywhere else, because whoever reaches it can drive the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.sandbox.actions import DM, ME
from bot.sandbox.guard import SandboxGuard
from bot.sandbox.page import SandboxPage
from bot.sandbox.transcript import Transcript
from bot.server import run_until_signalled, serve
from bot.settings import Settings
from bot.standins.gateway import GatewayStandIn
from bot.standins.serving import free_port
from bot.standins.slack import SlackStandIn

logger = logging.getLogger(__name__)

PREVIEW_LABEL = "offline preview"
LOOPBACK = "127.0.0.1"
WILDCARDS = ("0.0.0.0", "::", "")
READY_WITHIN = 30.0  # seconds the bot gets to answer its health check


def run_sandbox(settings: Settings) -> int:
    return run_until_signalled(lambda stop: sandbox(settings, stop))


async def _healthy(url: str, bot: asyncio.Task[int]) -> bool:
    """Wait until the bot answers its health check (False: it stopped first)."""
    deadline = time.monotonic() + READY_WITHIN
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline and not bot.done():
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return True
            await asyncio.sleep(0.05)
    return False


async def sandbox(settings: Settings, stop: asyncio.Event) -> int:
    if settings.log_level is None:
        # Someone who only wants to try the bot needs the page, not the INFO log.
        logging.getLogger().setLevel(logging.WARNING)
    host = settings.sandbox_host or LOOPBACK
    slack = SlackStandIn(bot_token=f"xoxb-sandbox-{secrets.token_hex(8)}")
    await slack.start(LOOPBACK)
    slack.add_conversation(DM, "banana", "im", user=ME)

    gateway: GatewayStandIn | None = None
    if settings.api_key:
        source = f"the real gateway ({settings.api_url or settings.network})"
        api_url, api_key = settings.api_url, settings.api_key
    else:
        gateway = GatewayStandIn(latency=2.0, label=PREVIEW_LABEL)
        api_url, api_key = await gateway.start(LOOPBACK), gateway.api_key
        source = f"{PREVIEW_LABEL} images drawn locally (set BANANA_API_KEY for real ones)"

    signing_secret = secrets.token_hex(16)
    bot_port = free_port(LOOPBACK)
    bot_settings = dataclasses.replace(
        settings,
        slack_bot_token=slack.bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_api_url=slack.api_url,
        api_url=api_url,
        api_key=api_key,
        host=LOOPBACK,
        port=bot_port,
        free_previews=gateway is not None,
    )
    page = SandboxPage(
        slack,
        events_url=f"http://{LOOPBACK}:{bot_port}/slack/events",
        signing_secret=signing_secret,
        image_source=source,
        guard=SandboxGuard(settings.port, any_host=settings.sandbox_host is not None),
        transcript=Transcript(_transcript_folder(settings)),
    )
    restored = page.restore()  # before the bot starts: it may resume jobs into these

    bot_stop = asyncio.Event()
    bot = asyncio.create_task(serve(bot_settings, bot_stop), name="sandbox-bot")
    runner = web.AppRunner(page.app(), access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        print(
            f"banana-bot sandbox: cannot listen on {host}:{settings.port} ({exc}); "
            "set PORT to a free port",
            file=sys.stderr,
        )
        return await _stop(bot, bot_stop, page, runner, slack, gateway, code=1)
    if not await _healthy(f"http://{LOOPBACK}:{bot_port}/healthz", bot):
        print("banana-bot sandbox: the bot did not start (see the log above)", file=sys.stderr)
        return await _stop(bot, bot_stop, page, runner, slack, gateway, code=1)

    shown = LOOPBACK if host in WILDCARDS else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{settings.port}/"
    kept = f"; {restored} messages from last time" if restored else ""
    exposed = (
        f"\n   ⚠ listening on {host} (BANANA_SANDBOX_HOST): whoever reaches it can use the bot"
        if settings.sandbox_host
        else ""
    )
    print(
        "🍌 banana sandbox: the real bot against a built-in Slack. Ctrl-C stops it.\n"
        f"   images: {source}{kept}{exposed}\n"
        f"   open {url}",
        flush=True,
    )
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({bot, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    return await _stop(bot, bot_stop, page, runner, slack, gateway)


async def _stop(
    bot: asyncio.Task[int],
    bot_stop: asyncio.Event,
    page: SandboxPage,
    runner: web.AppRunner,
    slack: SlackStandIn,
    gateway: GatewayStandIn | None,
    *,
    code: int | None = None,
) -> int:
    bot_stop.set()
    bot_code = await bot
    await page.close()
    await runner.cleanup()
    await slack.stop()
    if gateway is not None:
        await gateway.stop()
    return bot_code if code is None else code


def _transcript_folder(settings: Settings) -> Path:
    """Beside a SQLite journal; under ./data with a PostgreSQL one."""
    database = settings.database
    return (database.parent if isinstance(database, Path) else Path("data")) / "sandbox"
