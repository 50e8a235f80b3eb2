"""A hostile gateway — trickling, flooding, garbling, echoing secrets — meets
ceilings and typed errors. Over real HTTP against the gateway stand-in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from bot.gateway import open_generation_client
from bot.generation import (
    BadRequest,
    Declined,
    GatewayErrorCode,
    GatewayTimeout,
    GenerationClient,
    ImageRequest,
    MalformedAnswer,
    UpstreamUnavailable,
    identify,
)
from bot.generation.answer import parse_read_answer
from bot.generation.images import NotAnImage
from bot.generation.stream import AnswerReader
from bot.logs import SecretRedactor
from bot.settings import Settings
from bot.standins.gateway import GatewayStandIn
from bot.standins.hostile import ERROR_FLOOD_BYTES, FLOOD_BYTES
from tests.conftest import TEST_KEY, png_claiming
from tests.harness import eventually

MakeClient = Callable[..., GenerationClient]


async def test_a_trickling_gateway_is_cut_off_at_the_whole_call_deadline(
    gateway: GatewayStandIn,
) -> None:
    # One byte every 50 ms never trips a per-read timeout; BANANA_TIMEOUT bounds the call.
    gateway.trickle_interval = 0.05
    gateway.default_mode = "trickle"
    settings = Settings.from_env(
        {
            "BANANA_API_KEY": TEST_KEY,
            "BANANA_API_URL": gateway.url,
            "BANANA_TIMEOUT": "1",
            "BANANA_MAX_ATTEMPTS": "1",
            "BANANA_MIN_INTERVAL": "0",
        }
    )
    async with open_generation_client(settings) as client:
        with pytest.raises(GatewayTimeout, match="timed out") as caught:
            await asyncio.wait_for(client.generate(ImageRequest("a cat")), 15)
    assert isinstance(caught.value, UpstreamUnavailable), "still retried like any outage"
    assert gateway.requests[0].sent > 5, "the gateway was trickling, not silent"


async def test_read_timeouts_are_gateway_timeouts_too(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.default_mode = "slow"
    with pytest.raises(GatewayTimeout):
        await make_client(read_timeout=0.5, max_attempts=1).generate(ImageRequest("a cat"))


async def _quiet(gateway: GatewayStandIn) -> None:
    """Wait until the stand-in has finished writing (or given up on) every answer."""
    await eventually(lambda: gateway.in_flight == 0, limit=10)


@pytest.mark.parametrize("mode", ["oversized", "oversized_declared"])
async def test_an_answer_past_its_ceiling_is_refused_and_not_read_on(
    gateway: GatewayStandIn, make_client: MakeClient, mode: str
) -> None:
    gateway.default_mode = mode
    with pytest.raises(MalformedAnswer, match="too large"):
        await make_client(max_attempts=1).generate(ImageRequest("a cat"))
    await _quiet(gateway)
    (request,) = gateway.requests
    assert request.sent < FLOOD_BYTES * 3 // 4, "reading stopped at the ceiling"


async def test_an_error_page_is_read_no_further_than_its_ceiling(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.default_mode = "huge_error"
    with pytest.raises(UpstreamUnavailable, match="503"):
        await make_client(max_attempts=1).generate(ImageRequest("a cat"))
    await _quiet(gateway)
    (request,) = gateway.requests
    assert request.sent < ERROR_FLOOD_BYTES // 2


async def test_a_body_that_fails_to_decompress_is_malformed(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.default_mode = "bad_gzip"
    with pytest.raises(MalformedAnswer, match="compress"):
        await make_client().generate(ImageRequest("a cat"))
    assert len(gateway.requests) == 1, "not retried"


async def test_an_error_that_echoes_the_url_never_carries_the_key(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.default_mode = "echo_url"
    with pytest.raises(BadRequest, match="bad request") as caught:
        await make_client().generate(ImageRequest("a cat"))
    assert TEST_KEY not in str(caught.value)
    assert "ak=[redacted]" in str(caught.value)


def _answer_with(contents: list[object]) -> AnswerReader:
    body = {"code": 0, "data": {"choices": [{"message": {"multimodal_contents": contents}}]}}
    reader = AnswerReader()
    reader.feed(json.dumps(body).encode())
    return reader


@pytest.mark.parametrize("data", ["\x00blob:not-a-number", "\x00blob:7"])
def test_a_forged_placeholder_is_malformed_not_a_crash(data: str) -> None:
    reader = _answer_with([{"type": "inline_data", "inline_data": {"data": data}}])
    with pytest.raises(MalformedAnswer):
        parse_read_answer(reader)


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    reader = AnswerReader()
    reader.feed(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(MalformedAnswer, match="not JSON"):
        parse_read_answer(reader)


def test_an_answer_image_claiming_billions_of_pixels_is_not_an_image() -> None:
    with pytest.raises(NotAnImage):
        identify(png_claiming(100_000, 100_000))


def test_gateway_codes_and_model_words_are_scrubbed_of_the_key() -> None:
    redact = SecretRedactor([TEST_KEY]).redact
    reader = AnswerReader()
    reader.feed(json.dumps({"code": -1, "msg": f"denied for ?ak={TEST_KEY}"}).encode())
    with pytest.raises(GatewayErrorCode) as code:
        parse_read_answer(reader, redact=redact)
    assert TEST_KEY not in str(code.value) + code.value.gateway_message
    words = _answer_with([{"type": "text", "text": f"your key is {TEST_KEY}"}])
    with pytest.raises(Declined) as declined:
        parse_read_answer(words, redact=redact)
    assert TEST_KEY not in str(declined.value) + declined.value.model_text
