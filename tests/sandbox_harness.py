"""``banana-bot sandbox`` as a real process, and a headless Chromium to look at it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import clean_env
from tests.harness import free_port

CHROMIUM = Path(os.environ.get("BANANA_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"BROWSER TEST NOT RUN: no Chromium at {CHROMIUM} (apt-get install chromium; "
    ".ci/run installs it)",
)


@dataclass
class RunningSandbox:
    process: asyncio.subprocess.Process
    port: int
    banner: str
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@asynccontextmanager
async def running_sandbox(
    cwd: Path, port: int | None = None, **env: str
) -> AsyncIterator[RunningSandbox]:
    """``python -m bot sandbox`` without any Slack token or gateway key; yields once it
    printed its URL (its last line) and stops it (SIGTERM) at the end."""
    port = port or free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        env=clean_env(PORT=str(port), BANANA_MIN_INTERVAL="0", **env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    banner = ""
    async with asyncio.timeout(30):
        while "open http" not in banner:
            line = (await process.stdout.readline()).decode()
            assert line, f"sandbox exited:\n{banner}"
            banner += line
    sandbox = RunningSandbox(process, port, banner)
    drain = asyncio.create_task(_collect(process, sandbox.output))
    try:
        yield sandbox
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 20)
        await drain


async def _collect(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        lines.append(line.decode(errors="replace"))


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class ConsoleErrors(list[str]):
    """Every console error and uncaught exception of a page, as it happens."""

    def watch(self, page: Any) -> ConsoleErrors:
        page.on(
            "console",
            lambda message: (
                self.append(f"{message.text} ({message.location.get('url')})")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: self.append(f"uncaught: {error}"))
        return self
