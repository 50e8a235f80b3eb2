"""The gateway's answer is read in big slices: a 2K image is 10–17 MB of JSON,
and every slice httpx reads costs a trip through httpcore, h11 and anyio. At
httpcore's 64 KiB that is ~260 trips an image, the bot's largest CPU cost in a
burst (measured: 0.067 → 0.055 s of CPU per 2K image with 1 MiB reads)."""

from __future__ import annotations

import pytest

from bot.gateway import open_generation_client
from bot.generation import ImageRequest
from bot.generation.stream import AnswerReader
from bot.settings import Settings
from bot.standins.gateway import GatewayStandIn
from tests.conftest import TEST_KEY

HTTPCORE_READ = 64 * 1024


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
    settings = Settings.from_env(
        {
            "BANANA_API_KEY": TEST_KEY,
            "BANANA_API_URL": gateway.url,
            "BANANA_MIN_INTERVAL": "0",
        }
    )
    async with open_generation_client(settings) as client:
        generation = await client.generate(ImageRequest("a cat", size="1K"))
    (image,) = generation.images
    assert image.size > 1024**2
    assert sum(slices) > 3 * 1024**2
    assert max(slices) > HTTPCORE_READ, f"{len(slices)} slices, none over 64 KiB"
