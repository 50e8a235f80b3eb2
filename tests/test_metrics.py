"""``GET /metrics`` on the real process: a scripted session shows exactly its counts,
parsed with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, SlackStandIn
from bot.standins.slack_sender import app_mention, envelope, slash_command
from tests.harness import RunningBot, eventually

USER, CHANNEL = "U0ALICE", "C0GENERAL"


async def scrape(bot: RunningBot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_scripted_session_shows_exactly_its_counts(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    def command(text: str) -> dict[str, str]:
        url = slack.response_url(f"r-{time.time_ns()}")
        return slash_command(text, user=USER, channel=CHANNEL, response_url=url)

    slack.fail("chat.postMessage", "ratelimited")  # one 429, waited out
    three = command("three cats --n 3 --size 2K")
    await bot.sender.command(three)
    await bot.sender.command(three)  # the same trigger again: a duplicate
    await bot.sender.command(command("a thing it will not draw [standin:safety]"))
    request = slack.add_user_message(CHANNEL, USER, f"<@{BOT_USER}> a dog")
    mention = envelope(app_mention(request.text, user=USER, channel=CHANNEL, ts=request.ts))
    await bot.sender.event(mention)
    await bot.sender.event(mention, retry_num=1)  # Slack's retry: a duplicate
    await eventually(lambda: bot.logs().count("state=delivered") == 2)
    await eventually(lambda: "state=failed" in bot.logs())
    await asyncio.sleep(0.2)

    samples = await scrape(bot)
    requests = "banana_requests_total"
    assert value(samples, requests, surface="command", outcome="accepted") == 2
    assert value(samples, requests, surface="command", outcome="duplicate") == 1
    assert value(samples, requests, surface="mention", outcome="accepted") == 1
    assert value(samples, requests, surface="mention", outcome="duplicate") == 1
    assert value(samples, "banana_images_total", result="generated") == 4
    assert value(samples, "banana_images_total", result="declined") == 1
    assert value(samples, "banana_image_failures_total", error="Declined") == 1
    waits = value(samples, "banana_slack_rate_limit_waits_total", method="chat.postMessage")
    assert waits == 1
    spend = value(samples, "banana_estimated_spend_usd_total", size="2K")
    assert spend > 0
    assert value(samples, "banana_estimated_spend_usd_total", size="1K") > 0
    assert value(samples, "banana_queue_depth") == 0
    assert value(samples, "banana_images_in_flight") == 0
    assert value(samples, "banana_oldest_waiting_request_seconds") == 0
    assert value(samples, "banana_gateway_call_seconds_count") == 5
    assert value(samples, "banana_gateway_attempts_per_image_count") == 5
    for (_name, labels), _ in samples.items():
        names = {label for label, _ in labels}
        assert not names & {"user", "channel", "prompt"}, "labels stay low-cardinality"
