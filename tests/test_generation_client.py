"""The generation client over real HTTP against the gateway stand-in."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable

import pytest

from bot.generation import (
    BadRequest,
    Declined,
    GatewayErrorCode,
    GenerationClient,
    ImageRequest,
    KeyRejected,
    MalformedAnswer,
    RateLimited,
    UpstreamUnavailable,
)
from bot.generation.model import pixel_size
from bot.standins.gateway import GatewayStandIn
from tests.conftest import TEST_KEY

MakeClient = Callable[..., GenerationClient]
LOGID = re.compile(r"^nanobanana_[0-9a-f]{32}_\d{10}$")


async def test_sends_the_seed_request_exactly(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    result = await make_client().generate(ImageRequest("一只柴犬", "16:9", "2K"))
    (sent,) = gateway.requests
    assert sent.key == TEST_KEY
    assert LOGID.match(sent.logid)
    assert result.logid == sent.logid
    assert sent.body == {
        "stream": False,
        "model": "nano-banana2",
        "max_tokens": 20000,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "一只柴犬"}]}],
        "response_modalities": ["TEXT", "IMAGE"],
        "image_config": {
            "aspectRatio": "16:9",
            "imageSize": "2K",
            "imageOutputOptions": {"mimeType": "image/png"},
        },
    }
    (image,) = result.images
    assert (image.mime_type, image.extension) == ("image/png", "png")
    assert (image.width, image.height) == pixel_size("16:9", "2K") == (2752, 1536)
    assert result.text == "好的，为你生成图片。"
    assert result.attempts == 1


@pytest.mark.parametrize(
    ("mode", "mime", "count"),
    [("jpeg", "image/jpeg", 1), ("two_images", "image/png", 2), ("no_data", "image/png", 1)],
)
async def test_answer_shapes(
    gateway: GatewayStandIn, make_client: MakeClient, mode: str, mime: str, count: int
) -> None:
    gateway.queue(mode)
    result = await make_client().generate(ImageRequest("a cat", "3:4"))
    assert [i.mime_type for i in result.images] == [mime] * count
    assert all((i.width, i.height) == (896, 1200) for i in result.images)


async def test_thought_images_are_skipped(gateway: GatewayStandIn, make_client: MakeClient) -> None:
    gateway.queue("thought")
    result = await make_client().generate(ImageRequest("a cat"))
    assert len(result.images) == 1


@pytest.mark.parametrize("mode", ["rate_limit", "server_error", "unavailable"])
async def test_transient_failures_are_retried(
    gateway: GatewayStandIn, make_client: MakeClient, mode: str
) -> None:
    gateway.retry_after = 0
    gateway.queue(mode, mode)
    result = await make_client().generate(ImageRequest("a cat"))
    assert result.attempts == 3
    assert [r.mode for r in gateway.requests] == [mode, mode, "ok"]
    assert len({r.logid for r in gateway.requests}) == 3, "a fresh logid per attempt"


async def test_retry_after_is_honoured(gateway: GatewayStandIn, make_client: MakeClient) -> None:
    gateway.retry_after = 1
    gateway.queue("rate_limit")
    await make_client().generate(ImageRequest("a cat"))
    first, second = gateway.requests
    assert second.at - first.at >= 0.95


@pytest.mark.parametrize(
    ("mode", "error"), [("rate_limit", RateLimited), ("unavailable", UpstreamUnavailable)]
)
async def test_retries_are_bounded_in_attempts(
    gateway: GatewayStandIn, make_client: MakeClient, mode: str, error: type[Exception]
) -> None:
    gateway.retry_after = 0
    gateway.default_mode = mode
    with pytest.raises(error) as caught:
        await make_client(max_attempts=3).generate(ImageRequest("a cat"))
    assert len(gateway.requests) == 3
    assert caught.value.logid == gateway.requests[-1].logid  # type: ignore[attr-defined]


async def test_retries_are_bounded_in_time(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.retry_after = 5
    gateway.default_mode = "rate_limit"
    with pytest.raises(RateLimited):
        await make_client(max_attempts=10, within=2).generate(ImageRequest("a cat"))
    assert len(gateway.requests) == 1, "a 5 s Retry-After does not fit in 2 s"


async def test_timeouts_are_unavailable_and_retried(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.queue("slow")
    result = await make_client(read_timeout=0.5).generate(ImageRequest("a cat"))
    assert result.attempts == 2
    gateway.default_mode = "slow"
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        await make_client(read_timeout=0.5, max_attempts=2).generate(ImageRequest("a cat"))


async def test_connection_errors_are_unavailable(make_client: MakeClient) -> None:
    client = make_client(max_attempts=2)
    client._endpoint = "http://127.0.0.1:9/nothing-listens-here"
    with pytest.raises(UpstreamUnavailable, match="could not reach the gateway"):
        await client.generate(ImageRequest("a cat"))


async def test_wrong_key_is_not_retried(gateway: GatewayStandIn, make_client: MakeClient) -> None:
    with pytest.raises(KeyRejected) as caught:
        await make_client(key="wrong-key").generate(ImageRequest("a cat"))
    assert caught.value.status == 401
    assert len(gateway.requests) == 1
    assert "wrong-key" not in str(caught.value)


async def test_bad_request_is_not_retried(gateway: GatewayStandIn, make_client: MakeClient) -> None:
    with pytest.raises(BadRequest, match="400: invalid image_config") as caught:
        await make_client().generate(ImageRequest("a cat", size="2k"))
    assert caught.value.status == 400
    assert len(gateway.requests) == 1


async def test_text_only_is_retried_once_asking_for_an_image(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.queue("text_only")
    result = await make_client().generate(ImageRequest("a cat"))
    assert len(result.images) == 1
    retry = gateway.requests[1].body
    assert retry["response_modalities"] == ["IMAGE"]
    assert retry["messages"][0]["content"][0]["text"].endswith("\n\na cat")


async def test_declined_twice_carries_the_models_words(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.default_mode = "text_only"
    with pytest.raises(Declined) as caught:
        await make_client().generate(ImageRequest("a cat"))
    assert caught.value.model_text == "I can't draw that, but I can describe it."
    assert len(gateway.requests) == 2


async def test_safety_refusal_carries_the_finish_reason(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.default_mode = "safety"
    with pytest.raises(Declined) as caught:
        await make_client().generate(ImageRequest("a cat"))
    assert caught.value.finish_reason == "IMAGE_SAFETY"


@pytest.mark.parametrize(
    ("mode", "error", "text"),
    [
        ("code_error", GatewayErrorCode, "gateway error -1013: Provided image is not valid"),
        ("error_object", GatewayErrorCode, "gateway error 500: internal error"),
        ("not_json", MalformedAnswer, "not JSON"),
        ("bad_base64", MalformedAnswer, "not valid base64"),
        ("not_image", MalformedAnswer, "broken"),
    ],
)
async def test_broken_answers_become_typed_errors(
    gateway: GatewayStandIn,
    make_client: MakeClient,
    mode: str,
    error: type[Exception],
    text: str,
) -> None:
    gateway.default_mode = mode
    with pytest.raises(error, match=text):
        await make_client().generate(ImageRequest("a cat"))
    assert len(gateway.requests) == 1


async def test_pacing_caps_calls_in_flight(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.latency = 0.3
    client = make_client(concurrency=2, min_interval=0)
    await asyncio.gather(*(client.generate(ImageRequest(f"cat {i}")) for i in range(6)))
    assert gateway.max_in_flight == 2


async def test_pacing_spaces_call_starts(gateway: GatewayStandIn, make_client: MakeClient) -> None:
    client = make_client(concurrency=4, min_interval=0.2)
    await asyncio.gather(*(client.generate(ImageRequest(f"cat {i}")) for i in range(4)))
    starts = sorted(r.at for r in gateway.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.18
