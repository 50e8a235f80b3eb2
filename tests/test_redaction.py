"""The gateway key never appears in any log line, at any level."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.generation import GenerationClient, GenerationError, ImageRequest
from bot.logs import SecretRedactor, setup_logging
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.conftest import TEST_KEY
from tests.harness import BOT_TOKEN, eventually, running_bot


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


async def test_json_logs_parse_line_by_line_with_the_same_fields_and_no_secret(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG") as bot:
        fields = slash_command(
            "a cat", user="U0ALICE", channel="C0GENERAL", response_url=slack.response_url("r1")
        )
        await bot.sender.command(fields)
        await eventually(lambda: "delivered" in bot.logs())
        lines = [json.loads(line) for line in bot.logs().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    delivered = [line for line in lines if line.get("state") == "delivered"]
    assert len(delivered) == 1
    assert delivered[0]["job"]
    assert delivered[0]["user"] == "U0ALICE"
    assert delivered[0]["logids"].startswith("nanobanana_")
    assert TEST_KEY not in bot.logs()
    assert BOT_TOKEN not in bot.logs()
