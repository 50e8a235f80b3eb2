"""Start the stand-ins, the real bot (HTTP mode, signed requests) and the web page.

With ``BANANA_API_KEY`` set, images come from the real gateway; without it,
from the gateway stand-in's offline preview images (labelled as such).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import socket
import sys

from aiohttp import web

from bot.sandbox.page import SandboxPage
from bot.server import run_until_signalled, serve
from bot.settings import Settings
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn

logger = logging.getLogger(__name__)

PREVIEW_LABEL = "offline preview"


def run_sandbox(settings: Settings) -> int:
    return run_until_signalled(lambda stop: sandbox(settings, stop))


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def sandbox(settings: Settings, stop: asyncio.Event) -> int:
    host = settings.host or "127.0.0.1"
    slack = SlackStandIn(bot_token=f"xoxb-sandbox-{secrets.token_hex(8)}")
    await slack.start("127.0.0.1")
    slack.add_conversation("D0SANDBOX", "banana", "im", user="U0YOU")

    gateway: GatewayStandIn | None = None
    if settings.api_key:
        source = f"the real gateway ({settings.api_url or settings.network})"
        api_url, api_key = settings.api_url, settings.api_key
    else:
        gateway = GatewayStandIn(latency=2.0, label=PREVIEW_LABEL)
        api_url, api_key = await gateway.start("127.0.0.1"), gateway.api_key
        source = f"{PREVIEW_LABEL} images drawn locally (set BANANA_API_KEY for real ones)"

    signing_secret = secrets.token_hex(16)
    bot_port = _free_port("127.0.0.1")
    bot_settings = dataclasses.replace(
        settings,
        slack_bot_token=slack.bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_api_url=slack.api_url,
        api_url=api_url,
        api_key=api_key,
        host="127.0.0.1",
        port=bot_port,
        free_previews=gateway is not None,
    )
    bot_stop = asyncio.Event()
    bot = asyncio.create_task(serve(bot_settings, bot_stop), name="sandbox-bot")

    page = SandboxPage(
        slack,
        events_url=f"http://127.0.0.1:{bot_port}/slack/events",
        signing_secret=signing_secret,
        image_source=source,
    )
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
        bot_stop.set()
        await bot
        return 1
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{settings.port}/"
    print(
        "\n🍌 banana sandbox: the real bot against a built-in Slack\n"
        f"   open {url}\n"
        "   and type  /banana a shiba inu in a park --ar 16:9\n"
        f"   images: {source}\n"
        "   Ctrl-C to stop\n",
        flush=True,
    )
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({bot, stopper}, return_when=asyncio.FIRST_COMPLETED)
    bot_stop.set()
    code = await bot
    stopper.cancel()
    await page.close()
    await runner.cleanup()
    await slack.stop()
    if gateway is not None:
        await gateway.stop()
    return code
