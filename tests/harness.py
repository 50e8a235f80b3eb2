"""Run the real bot process against the stand-ins, and wait for what it does."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp

from bot.standins.gateway import GatewayStandIn
from bot.standins.serving import free_port
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import Delivered, SlackSender, slash_command
from tests.conftest import TEST_KEY, clean_env

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
SIGNING_SECRET = "test-signing-secret-8c1d"
T = TypeVar("T")


async def eventually(check: Callable[[], T], limit: float = 15.0) -> T:
    """Poll ``check`` until it returns something truthy (or raise with the last value)."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit}s (last: {value!r})")
        await asyncio.sleep(0.05)


@dataclass
class RunningBot:
    process: asyncio.subprocess.Process
    port: int
    log: Path
    sender: SlackSender

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    async def command(
        self, slack: SlackStandIn, user: str, text: str, channel: str = "C0GENERAL"
    ) -> Delivered:
        """``/banana text`` from ``user``, signed, with a response_url of its own; answered 200."""
        reply = await self.sender.command(
            slash_command(
                text,
                user=user,
                channel=channel,
                response_url=slack.response_url(f"r{time.time_ns()}"),
            )
        )
        assert reply.status == 200, self.logs()
        return reply

    async def stop(self, sig: int = signal.SIGTERM, limit: float = 20) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), limit)


def bot_env(
    gateway: GatewayStandIn, slack: SlackStandIn, port: int, **extra: str
) -> dict[str, str]:
    settings = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "BANANA_API_KEY": TEST_KEY,
        "BANANA_API_URL": gateway.url,
        "BANANA_MIN_INTERVAL": "0",
        "BANANA_BACKOFF": "0.05",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    return clean_env(**{**settings, **extra})


@asynccontextmanager
async def running_bot(
    gateway: GatewayStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
    *,
    command: tuple[str, ...] = ("serve",),
    wrapper: tuple[str, ...] = (),
    **extra: str,
) -> AsyncIterator[RunningBot]:
    """``python -m bot serve`` as a real process (run by ``wrapper``, e.g. ``unshare``,
    when given); yields once /healthz answers 200."""
    port = free_port()
    log = tmp_path / f"bot-{port}.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *wrapper,
            sys.executable,
            "-m",
            "bot",
            *command,
            env=bot_env(gateway, slack, port, **extra),
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
    async with aiohttp.ClientSession() as session:
        bot = RunningBot(
            process,
            port,
            log,
            SlackSender(session, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET),
        )
        try:
            await _wait_healthy(session, bot)
            yield bot
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _wait_healthy(session: aiohttp.ClientSession, bot: RunningBot, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if bot.process.returncode is not None:
            raise AssertionError(f"bot exited {bot.process.returncode}:\n{bot.logs()}")
        try:
            async with session.get(f"{bot.url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"bot not healthy within {limit}s:\n{bot.logs()}")
