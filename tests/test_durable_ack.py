"""Acknowledged ⇒ durable, on every surface: a ``kill -9`` the instant Slack's 200s
are back loses nothing. Real processes, real HTTP, the same journal file."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import (
    app_mention,
    block_action,
    direct_message,
    envelope,
    slash_command,
    view_submission,
)
from tests.harness import RunningBot, eventually, running_bot

ALICE, CHANNEL = "U0ALICE", "C0GENERAL"
SETTINGS = {"BANANA_MAX_QUEUED_PER_USER": "100", "BANANA_DAILY_QUOTA": "500"}


def results(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.visible() if m.files]


def edit_submission(callback_id: str, metadata: str, text: str) -> dict[str, Any]:
    view = {"id": f"V{time.time_ns()}", "type": "modal", "callback_id": callback_id}
    view["private_metadata"] = metadata
    values = {"prompt": {"prompt": {"type": "plain_text_input", "value": text}}}
    return view_submission(view, values, user=ALICE)


async def burst(
    bot: RunningBot, slack: SlackStandIn, job_id: str, file_id: str
) -> dict[str, list[int]]:
    """Requests of every surface at once; ``kill -9`` the instant the tenth 200 is back.

    Returns, by the prompt each request asks for, the HTTP statuses Slack saw
    (0: no answer before the kill).
    """
    dm = slack.add_conversation("D0ALICE", "alice", "im", user=ALICE)
    sends: list[tuple[str, Any]] = []
    for n in range(6):
        said = slack.add_user_message(CHANNEL, ALICE, f"<@{BOT_USER}> mention cat {n}")
        event = app_mention(said.text, user=ALICE, channel=CHANNEL, ts=said.ts)
        sends.append((f"mention cat {n}", bot.sender.event(envelope(event))))
    for n in range(4):
        said = slack.add_user_message(dm.id, ALICE, f"dm cat {n}")
        event = direct_message(said.text, user=ALICE, channel=dm.id, ts=said.ts)
        sends.append((f"dm cat {n}", bot.sender.event(envelope(event))))
    for _ in range(3):
        action = {"action_id": "banana_reroll", "type": "button", "value": job_id}
        click = block_action(action, user=ALICE, channel=CHANNEL, message_ts="1.0")
        sends.append(("a red fox", bot.sender.interaction(click)))
    edit = edit_submission("banana_edit", job_id, "a fox at night")
    sends.append(("a fox at night", bot.sender.interaction(edit)))
    metadata = json.dumps({"channel": CHANNEL, "thread": None, "files": [file_id]})
    shortcut = edit_submission("banana_edit_message", metadata, "make it pink")
    sends.append(("make it pink", bot.sender.interaction(shortcut)))
    for n in range(2):
        url = slack.response_url(f"b{n}")
        fields = slash_command(f"command cat {n}", user=ALICE, channel=CHANNEL, response_url=url)
        sends.append((f"command cat {n}", bot.sender.command(fields)))
    tasks = [asyncio.ensure_future(send) for _, send in sends]
    answered = 0
    for finished in asyncio.as_completed(tasks):
        answered += (await finished).status == 200
        if answered == 10:
            bot.process.kill()
            break
    answers = await asyncio.gather(*tasks, return_exceptions=True)
    statuses: dict[str, list[int]] = {}
    for (prompt, _), answer in zip(sends, answers, strict=True):
        status = 0 if isinstance(answer, BaseException) else answer.status
        statuses.setdefault(prompt, []).append(status)
    return statuses


def made_for(slack: SlackStandIn, prompt: str) -> int:
    return sum(f"asked for: _{prompt}_" in m.text for m in results(slack))


async def test_every_acknowledged_request_survives_a_kill_9_at_its_200(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path, **SETTINGS) as bot:
        fields = slash_command("a red fox", user=ALICE, channel=CHANNEL, response_url="")
        await bot.sender.command(fields)
        (first,) = await eventually(lambda: results(slack))
        card = await eventually(lambda: [m for m in slack.visible() if m.blocks and "✅" in m.text])
        actions = next(b for b in card[0].blocks if b["type"] == "actions")
        job_id = actions["elements"][0]["value"]
        gateway.latency = 5  # nothing finishes before the kill
        statuses = await burst(bot, slack, job_id, first.files[0]["id"])
        await bot.stop(signal.SIGKILL)
    acknowledged = {prompt: s.count(200) for prompt, s in statuses.items() if 200 in s}
    assert acknowledged
    gateway.latency = 0
    async with running_bot(gateway, slack, tmp_path, **SETTINGS):
        for prompt, count in acknowledged.items():
            extra = 1 if prompt == "a red fox" else 0  # the first result
            await eventually(lambda p=prompt, n=count + extra: made_for(slack, p) >= n, limit=60)
        await asyncio.sleep(1.0)
    for prompt, sent in statuses.items():
        extra = 1 if prompt == "a red fox" else 0
        # Acknowledged: delivered. Journaled but killed before its 200: Slack would
        # send it again and dedupe would catch it; it may be delivered. Never twice.
        assert acknowledged.get(prompt, 0) + extra <= made_for(slack, prompt) <= len(sent) + extra
