"""The gateway key never appears in any log line, at any level."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from bot.generation import GenerationClient, GenerationError, ImageRequest
from bot.logs import SecretRedactor, setup_logging
from bot.standins.gateway import GatewayStandIn
from tests.conftest import TEST_KEY


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.NOTSET)


def test_redactor_scrubs_messages_args_and_tracebacks() -> None:
    redactor = SecretRedactor([TEST_KEY])
    try:
        raise ValueError(f"boom at http://h/p?x=1&ak={TEST_KEY}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "url %s", (f"http://h?ak={TEST_KEY}",), sys.exc_info()
        )
    redactor.filter(record)
    text = logging.Formatter().format(record)
    assert TEST_KEY not in text
    assert "ak=[redacted]" in text


async def test_no_key_in_debug_logs_of_real_calls(
    gateway: GatewayStandIn,
    make_client: Callable[..., GenerationClient],
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    setup_logging("DEBUG", [TEST_KEY])
    client = make_client(max_attempts=2)
    await client.generate(ImageRequest("a cat"))
    gateway.retry_after = 0
    for mode in ("rate_limit", "unavailable", "not_json", "code_error"):
        gateway.default_mode = mode
        try:
            await client.generate(ImageRequest("a cat"))
        except GenerationError:
            logging.getLogger("test").exception("generation failed")
    client._endpoint = "http://127.0.0.1:9/refused"
    try:
        await client.generate(ImageRequest("a cat"))
    except GenerationError:
        logging.getLogger("test").exception("generation failed")
    logs = capsys.readouterr().err
    assert "HTTP Request: POST" in logs, "httpx's own request log line is covered"
    assert "ak=[redacted]" in logs
    assert "Traceback" in logs
    assert TEST_KEY not in logs
