"""What a gateway call costs besides the answer itself: the answer is read in big
slices (a 2K image is 10–17 MB of JSON, and every slice httpx reads costs a trip
through httpcore, h11 and anyio — at httpcore's 64 KiB, ~260 trips an image:
0.067 → 0.055 s of CPU per 2K image with 1 MiB reads); calls reuse their
connections (a new one costs a TCP and, in production, a TLS handshake)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from importlib.abc import MetaPathFinder
from types import ModuleType

import pytest

from bot.gateway import open_generation_client
from bot.generation import ImageRequest
from bot.generation.stream import AnswerReader
from bot.settings import Settings
from bot.standins.gateway import GatewayStandIn
from tests.conftest import TEST_KEY

HTTPCORE_READ = 64 * 1024


def gateway_settings(gateway: GatewayStandIn, **more: str) -> Settings:
    """Settings for the stand-in gateway, calls unpaced."""
    return Settings.from_env(
        {
            "BANANA_API_KEY": TEST_KEY,
            "BANANA_API_URL": gateway.url,
            "BANANA_MIN_INTERVAL": "0",
            **more,
        }
    )


async def test_a_big_answer_arrives_in_slices_larger_than_httpcores_default(
    gateway: GatewayStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    slices: list[int] = []
    feed = AnswerReader.feed

    def counting_feed(reader: AnswerReader, chunk: bytes) -> None:
        slices.append(len(chunk))
        feed(reader, chunk)

    monkeypatch.setattr(AnswerReader, "feed", counting_feed)
    gateway.default_mode = "noise"  # incompressible: a ~4 MB answer for 1K
    settings = gateway_settings(gateway)
    async with open_generation_client(settings) as client:
        generation = await client.generate(ImageRequest("a cat", size="1K"))
    (image,) = generation.images
    assert image.size > 1024**2
    assert sum(slices) > 3 * 1024**2
    assert max(slices) > HTTPCORE_READ, f"{len(slices)} slices, none over 64 KiB"


async def test_every_call_in_flight_keeps_its_connection_for_the_next(
    gateway: GatewayStandIn,
) -> None:
    concurrency = 8
    gateway.latency = 0.2  # all of a wave in flight at once
    settings = gateway_settings(gateway, BANANA_CONCURRENCY=str(concurrency))
    async with open_generation_client(settings) as client:
        for _ in range(3):
            await asyncio.gather(
                *(client.generate(ImageRequest("a cat", size="1K")) for _ in range(concurrency))
            )
    peers = {request.peer for request in gateway.requests}
    assert len(gateway.requests) == 3 * concurrency
    assert "" not in peers
    assert len(peers) == concurrency, f"{len(peers)} connections for three waves of {concurrency}"


class MissingModules(MetaPathFinder):
    """Last on ``sys.meta_path``: asked only for modules no other finder has."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> None:
        self.asked.append(fullname)


async def test_a_call_does_not_search_the_disk_for_a_module_that_is_not_there(
    gateway: GatewayStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpcore asks which async library runs it at every lock, event and shield
    it makes; without ``sniffio`` each asking is a failed import (~37 µs)."""
    settings = gateway_settings(gateway)
    missing = MissingModules()
    async with open_generation_client(settings) as client:
        await client.generate(ImageRequest("a cat", size="1K"))
        monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, missing])
        await client.generate(ImageRequest("a dog", size="1K"))
    assert missing.asked == []


FIRST_CALL_CHECK = """
import asyncio, sys
from bot.gateway import open_generation_client
from bot.settings import Settings

async def main():
    settings = Settings.from_env({"BANANA_API_KEY": "k", "BANANA_API_URL": "http://127.0.0.1:9/"})
    async with open_generation_client(settings):
        print(sorted(m for m in ("anyio._backends._asyncio", "PIL.PngImagePlugin",
                                 "PIL.JpegImagePlugin") if m not in sys.modules))

asyncio.run(main())
"""


def test_the_client_is_ready_for_its_first_call_once_open() -> None:
    """What the first call would import on its way (anyio's asyncio backend, the
    image formats' readers: ~25 ms) is imported when the client opens, so the
    first image of the day costs no more than the next."""
    result = subprocess.run(
        [sys.executable, "-c", FIRST_CALL_CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_a_call_has_one_deadline_not_a_timer_for_every_read(
    gateway: GatewayStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BANANA_TIMEOUT bounds the whole call; a per-read deadline as well would arm
    and cancel a timer for every read of the answer (~64 for a 2K image)."""
    gateway.default_mode = "noise"  # ~4 MB for 1K: a few dozen reads
    settings = gateway_settings(gateway)
    loop = asyncio.get_running_loop()
    timers: list[float] = []
    call_at = loop.call_at

    def counting_call_at(when: float, *args: object, **kwargs: object) -> asyncio.TimerHandle:
        timers.append(when)
        return call_at(when, *args, **kwargs)  # type: ignore[arg-type]

    reads = 0
    feed = AnswerReader.feed

    def counting_feed(reader: AnswerReader, chunk: bytes) -> None:
        nonlocal reads
        reads += 1
        feed(reader, chunk)

    monkeypatch.setattr(AnswerReader, "feed", counting_feed)
    async with open_generation_client(settings) as client:
        await client.generate(ImageRequest("a cat", size="1K"))  # connected: no connect timer
        monkeypatch.setattr(loop, "call_at", counting_call_at)
        reads = 0
        await client.generate(ImageRequest("a dog", size="1K"))
    assert reads > 10
    assert len(timers) <= 3, f"{len(timers)} timers for {reads} reads"
