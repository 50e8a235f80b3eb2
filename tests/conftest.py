from __future__ import annotations

import asyncio
import os
import struct
import sys
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.generation import GenerationClient, Pacer, RetryPolicy
from bot.settings import PostgresURL
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from tests.postgres_server import PostgresServer, find_binaries, start_server

ROOT = Path(__file__).resolve().parent.parent
TEST_KEY = "test-gateway-key-5f2a9c"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL for the whole run (see tests/postgres_server.py).

    Without PostgreSQL installed a local run skips what needs it, loudly; under CI
    (``CI=true``) that is a failure, so the PostgreSQL store is never untested there.
    """
    from tests.harness import free_port

    binaries = find_binaries()
    if binaries is None:
        reason = (
            "POSTGRESQL IS NOT INSTALLED: THE POSTGRESQL STORE WAS NOT TESTED. Install "
            "Debian's postgresql package (initdb not found on PATH or in /usr/lib/postgresql)"
        )
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    server = start_server(binaries, free_port())
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the private server."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def journal_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | PostgresURL:
    """Where a journal lives, once per store: the same tests run against both."""
    if request.param == "sqlite":
        return tmp_path / "nested" / "banana.db"
    return PostgresURL(request.getfixturevalue("postgres_url"))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels; its data holds almost none."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def gateway() -> AsyncIterator[GatewayStandIn]:
    standin = GatewayStandIn(api_key=TEST_KEY, slow_seconds=2.0)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    from tests.harness import APP_TOKEN, BOT_TOKEN

    standin = SlackStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def bot(gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path) -> AsyncIterator[Any]:
    """The real ``banana-bot serve`` process in HTTP mode against both stand-ins."""
    from tests.harness import running_bot

    async with running_bot(gateway, slack, tmp_path) as running:
        yield running


@pytest.fixture
async def make_client(
    gateway: GatewayStandIn,
) -> AsyncIterator[Callable[..., GenerationClient]]:
    """Clients against the stand-in with fast retries; all closed at the end."""
    opened: list[httpx.AsyncClient] = []

    def make(
        *,
        key: str = TEST_KEY,
        concurrency: int = 4,
        min_interval: float = 0.0,
        read_timeout: float = 10.0,
        max_attempts: int = 3,
        within: float = 30.0,
        blob_folder: Path | None = None,
    ) -> GenerationClient:
        http = httpx.AsyncClient(timeout=httpx.Timeout(read_timeout, connect=2.0))
        opened.append(http)
        return GenerationClient(
            http,
            endpoint=gateway.url,
            api_key=key,
            model="nano-banana2",
            pacer=Pacer(concurrency, min_interval),
            retry=RetryPolicy(max_attempts=max_attempts, within=within, backoff=0.05),
            timeout=read_timeout,
            blob_folder=blob_folder,
        )

    yield make
    for http in opened:
        await http.aclose()


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without any bot setting (nor the terminal's
    language, which ``generate`` speaks), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BANANA_", "SLACK_", "LC_"))
        and k not in ("HOST", "PORT", "LOG_LEVEL", "LANG", "LANGUAGE")
    }
    env.update(extra)
    return env


async def run_cli(*args: str, env: dict[str, str], cwd: Path, limit: float = 60) -> Finished:
    """Run ``python -m bot`` as a real process while the test's event loop keeps serving."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), limit)
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())
