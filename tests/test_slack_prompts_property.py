"""Arbitrary prompt text survives the real signed HTTP path to the gateway."""

from __future__ import annotations

import itertools
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.options import UsageError, parse_request
from bot.slack.listeners import HELP_WORDS
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.harness import RunningBot, eventually

USERS = itertools.count(1)


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def expected_prompt(text: str) -> str | None:
    if text.strip().lower() in HELP_WORDS:
        return None
    try:
        return parse_request(text).prompt
    except UsageError:
        return None


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(st.text(min_size=1, max_size=300).filter(lambda t: expected_prompt(t) is not None))
@example("a rocket delivering its payload")
@example("payload=1&text=x --ar 16:9")
@example("<@U123> &amp; <!here> 一只猫 %20 + = ; \"quoted\" 'single'")
@example("token=abc&command=/other")
async def test_any_prompt_reaches_the_gateway_intact(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn, text: str
) -> None:
    prompt = expected_prompt(text)
    before = len(gateway.requests)
    fields = slash_command(
        slack_escape(text),
        user=f"U{next(USERS):06d}",  # per-user limits are not under test here
        channel="C0GENERAL",
        response_url=slack.response_url(f"p-{time.time_ns()}"),
    )
    acked = await bot.sender.command(fields)
    assert acked.status == 200, acked.body
    await eventually(lambda: len(gateway.requests) > before)
    assert gateway.requests[before].prompt == prompt
