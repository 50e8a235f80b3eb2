"""Slack's AI-app panel end to end, over real HTTP and over Socket Mode: the real
bot process against the Slack stand-in's assistant threads."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, AssistantThread, Message, SlackStandIn
from bot.standins.slack_sender import (
    assistant_thread_context_changed,
    assistant_thread_started,
    block_action,
    direct_message,
    envelope,
)
from tests.harness import APP_TOKEN, eventually, running_bot

USER = "U0ALICE"
VIEWED = "C0DESIGN"
SECRET = "C0SECRET"  # the bot is there, but BANANA_ALLOWED_CHANNELS leaves it out
Send = Callable[[dict[str, Any]], Awaitable[object]]


def in_thread(slack: SlackStandIn, thread: AssistantThread) -> list[Message]:
    return [
        m
        for m in slack.visible(thread.channel)
        if m.thread_ts == thread.thread_ts and m.user == BOT_USER
    ]


def cards(slack: SlackStandIn, thread: AssistantThread) -> list[Message]:
    return [m for m in in_thread(slack, thread) if m.blocks and not m.files]


def images(slack: SlackStandIn, thread: AssistantThread) -> list[Message]:
    return [m for m in in_thread(slack, thread) if m.files]


def share_value(card: Message) -> str | None:
    for block in card.blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == "banana_share":
                return str(element["value"])
    return None


async def ask(
    slack: SlackStandIn,
    send: Send,
    thread: AssistantThread,
    text: str,
    *,
    twice: bool = False,
    files: list[dict[str, Any]] | None = None,
) -> None:
    request = slack.add_user_message(thread.channel, USER, text, thread_ts=thread.thread_ts)
    message = direct_message(
        text, user=USER, channel=thread.channel, ts=request.ts, thread_ts=thread.thread_ts
    )
    if files:  # as Slack sends an upload with words: a file_share message
        request.files = files
        message.update(subtype="file_share", files=files)
    event = envelope(message)
    await send(event)
    if twice:  # Slack's retry of the same delivery
        await send(event)


async def open_panel(slack: SlackStandIn, send: Send, viewing: str) -> AssistantThread:
    thread = slack.panel.start(USER, viewing=viewing)
    started = envelope(
        assistant_thread_started(
            user=USER, channel=thread.channel, thread_ts=thread.thread_ts, viewing=viewing
        )
    )
    await send(started)
    await send(started)  # a retry: greeted once
    await eventually(lambda: in_thread(slack, thread) and len(thread.prompts) == 4)
    return thread


async def the_panel_works(
    slack: SlackStandIn, gateway: GatewayStandIn, send: Send, click: Send
) -> None:
    slack.add_conversation(VIEWED, "design")
    slack.add_conversation(SECRET, "secret")
    thread = await open_panel(slack, send, VIEWED)

    # Thread started: one greeting (carrying the context), 4 prompts, one in Chinese.
    (greeting,) = in_thread(slack, thread)
    assert "banana" in greeting.text
    assert (greeting.metadata or {})["event_payload"]["channel_id"] == VIEWED
    assert any("柴犬" in p["message"] for p in thread.prompts)
    assert any("--ar 16:9" in p["message"] for p in thread.prompts)
    assert any("--ar story" in p["message"] for p in thread.prompts)
    assert any("attach" in p["message"] for p in thread.prompts)

    # A prompt: status set, a title, one image in the thread, then the status cleared.
    await ask(slack, send, thread, "a lighthouse at dusk --ar 16:9 --size 2K", twice=True)
    (card,) = await eventually(lambda: cards(slack, thread))
    assert "is drawing… 16:9, 2K" in thread.statuses  # the live line, then cleared
    # Cleared once the image is shared: right after the card, not before it.
    await eventually(lambda: thread.statuses[-1] == "")
    (first, *_) = slack.calls_to("assistant.threads.setStatus")
    assert first.args["loading_messages"][0] == first.args["status"]
    assert thread.status == ""
    assert thread.title == "a lighthouse at dusk"
    assert len(images(slack, thread)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2  # the greeting and the card: no status
    assert [r.prompt for r in gateway.requests] == ["a lighthouse at dusk"]
    assert share_value(card) is not None

    # "make it night" edits the latest: v2, with v1's image and shape.
    await ask(slack, send, thread, "make it night")
    await eventually(lambda: len(cards(slack, thread)) == 2)
    v2 = cards(slack, thread)[1]
    assert "*v2*" in v2.text
    assert gateway.requests[1].inputs == 1
    assert gateway.requests[1].aspect_ratio == "16:9"
    assert thread.title == "a lighthouse at dusk"  # an edit keeps the chat's name
    assert thread.status == ""

    # Share to the channel on screen: posted there once, however often it is clicked.
    value = share_value(card)
    assert value
    assert value.endswith(f"|{VIEWED}")
    for _ in range(2):
        await click(
            block_action(
                {"action_id": "banana_share", "type": "button", "value": value},
                user=USER,
                channel=thread.channel,
                message_ts=card.ts,
                response_url=slack.response_url("share"),
                thread_ts=thread.thread_ts,
            )
        )
    (shared,) = await eventually(lambda: [m for m in slack.visible(VIEWED) if m.files])
    assert "a lighthouse at dusk" in shared.text
    assert f"<@{USER}>" in shared.text
    await eventually(lambda: any("Shared to" in r.get("text", "") for r in slack.responses))
    await asyncio.sleep(0.3)
    assert len([m for m in slack.visible(VIEWED) if m.files]) == 1

    # Viewing a channel that is not allowed: no button, and a forged click is refused.
    moved = envelope(
        assistant_thread_context_changed(
            user=USER, channel=thread.channel, thread_ts=thread.thread_ts, viewing=SECRET
        )
    )
    await send(moved)
    await eventually(lambda: (in_thread(slack, thread)[0].metadata or {}).get("event_payload"))
    await eventually(
        lambda: in_thread(slack, thread)[0].metadata["event_payload"]["channel_id"] == SECRET
    )
    await ask(slack, send, thread, "a fox --ar 1:1")
    await eventually(lambda: len(cards(slack, thread)) == 3)
    assert share_value(cards(slack, thread)[2]) is None
    job_id = value.partition("|")[0]
    await click(
        block_action(
            {"action_id": "banana_share", "type": "button", "value": f"{job_id}|{SECRET}"},
            user=USER,
            channel=thread.channel,
            message_ts=card.ts,
            response_url=slack.response_url("secret"),
        )
    )
    await eventually(
        lambda: any(
            "not set up" in r.get("text", "") for r in slack.responses if r["ref"] == "secret"
        )
    )
    assert not [m for m in slack.visible(SECRET) if m.files]

    # A refusal: the reason said in the thread, the status cleared.
    await ask(slack, send, thread, "a cat [standin:safety]")
    failed = await eventually(lambda: [m for m in cards(slack, thread) if "❌" in m.text])
    assert "safety filter" in failed[0].text
    await eventually(lambda: thread.statuses[-1] == "")
    assert thread.status == ""
    assert len(images(slack, thread)) == 3  # v1, v2 and the fox: each once


async def test_the_panel_over_http(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.slow_seconds = 0.5
    async with running_bot(
        gateway, slack, tmp_path, BANANA_ALLOWED_CHANNELS=f"C0GENERAL,{VIEWED}"
    ) as bot:

        async def send(event: dict[str, Any]) -> object:
            answer = await bot.sender.event(event)
            assert answer.status == 200
            return answer

        async def click(payload: dict[str, Any]) -> object:
            answer = await bot.sender.interaction(payload)
            assert answer.status == 200
            return answer

        await the_panel_works(slack, gateway, send, click)


async def test_the_panel_over_socket_mode(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(
        gateway,
        slack,
        tmp_path,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_SIGNING_SECRET="",
        BANANA_ALLOWED_CHANNELS=f"C0GENERAL,{VIEWED}",
    ) as _bot:

        async def send(event: dict[str, Any]) -> object:
            return await slack.send_envelope("events_api", event)

        async def click(payload: dict[str, Any]) -> object:
            return await slack.send_envelope("interactive", payload)

        await the_panel_works(slack, gateway, send, click)


async def test_a_thread_in_the_messages_tab_still_answers_as_a_dm(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    # Bolt hands every DM thread reply to the Assistant middleware; a thread that is
    # not a panel thread (Slack: invalid_thread_ts) keeps its status message.
    async with running_bot(gateway, slack, tmp_path) as bot:
        dm = slack.open_im(USER)
        root = slack.add_user_message(dm, USER, "a cat")
        reply = slack.add_user_message(dm, USER, "a dog --ar 4:3", thread_ts=root.ts)
        event = direct_message(reply.text, user=USER, channel=dm, ts=reply.ts, thread_ts=root.ts)
        await bot.sender.event(envelope(event))
        (card,) = await eventually(
            lambda: [
                m
                for m in slack.visible(dm)
                if m.thread_ts == root.ts and m.blocks and not m.files and "v1" in m.text
            ]
        )
        assert card.edits >= 1  # the status message became the card
        assert [m for m in slack.visible(dm) if m.files]
        assert [r.prompt for r in gateway.requests] == ["a dog"]


async def test_a_panel_job_caught_by_a_crash_resumes_in_its_thread(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    gateway.latency = 5
    async with running_bot(gateway, slack, tmp_path) as bot:

        async def send(event: dict[str, Any]) -> object:
            return await bot.sender.event(event)

        thread = await open_panel(slack, send, VIEWED)
        await ask(slack, send, thread, "a cat that survives crashes --ar 3:2")
        await eventually(lambda: gateway.in_flight)
        assert thread.status == "is drawing… 3:2, 1K"
        await bot.stop(signal.SIGKILL)
    gateway.latency = 0
    async with running_bot(gateway, slack, tmp_path):
        (card,) = await eventually(lambda: cards(slack, thread))
        await eventually(lambda: thread.statuses[-1] == "")
    assert "a cat that survives crashes" in card.text
    assert len(images(slack, thread)) == 1
    assert len(gateway.requests) == 2  # generation is at-least-once
    assert thread.title == "a cat that survives crashes"
    assert len(slack.calls_to("assistant.threads.setTitle")) == 1  # not retitled on resume


async def test_an_image_attached_in_the_panel_is_edited_in_its_shape(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    from tests.test_first_minutes import picture

    async with running_bot(gateway, slack, tmp_path) as bot:

        async def send(event: dict[str, Any]) -> object:
            return await bot.sender.event(event)

        thread = await open_panel(slack, send, VIEWED)
        photo = slack.add_user_file("photo.png", picture(1000, 420))  # nearest 21:9
        await ask(slack, send, thread, "in watercolor", files=[photo])
        (card,) = await eventually(lambda: cards(slack, thread))
    assert "v1" in card.text
    assert [(r.inputs, r.aspect_ratio) for r in gateway.requests] == [(1, "21:9")]
    assert thread.title == "in watercolor"  # the chat's first subject
    assert thread.statuses[-1] == ""


async def test_no_share_where_the_bot_may_not_post(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    hidden = slack.add_conversation("G0HIDDEN", "hidden", "private", member=False)
    async with running_bot(gateway, slack, tmp_path) as bot:

        async def send(event: dict[str, Any]) -> object:
            return await bot.sender.event(event)

        thread = await open_panel(slack, send, hidden.id)
        await ask(slack, send, thread, "a lantern")
        (card,) = await eventually(lambda: cards(slack, thread))
        assert share_value(card) is None  # the bot cannot see the channel, so no button
        entry_id = next(
            e["value"] for b in card.blocks for e in b.get("elements") or [] if "value" in e
        )
        await bot.sender.interaction(
            block_action(
                {"action_id": "banana_share", "type": "button", "value": f"{entry_id}|G0HIDDEN"},
                user=USER,
                channel=thread.channel,
                message_ts=card.ts,
                response_url=slack.response_url("hidden"),
            )
        )
        await eventually(lambda: any("can't post" in r.get("text", "") for r in slack.responses))
    assert not [m for m in slack.visible("G0HIDDEN") if m.files]


async def test_malformed_panel_events_are_acknowledged_and_ignored(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path) as bot:
        for thread in (None, "a string", {"channel_id": 7}, {"channel_id": "D1", "thread_ts": ""}):
            for kind in ("assistant_thread_started", "assistant_thread_context_changed"):
                answer = await bot.sender.event(
                    envelope({"type": kind, "assistant_thread": thread})
                )
                assert answer.status == 200
        await asyncio.sleep(0.3)
        assert not slack.calls_to("chat.postMessage")
        assert not slack.calls_to("assistant.threads.setSuggestedPrompts")
        assert bot.process.returncode is None


async def test_the_daily_quota_holds_in_the_panel(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path, BANANA_DAILY_QUOTA="1") as bot:

        async def send(event: dict[str, Any]) -> object:
            return await bot.sender.event(event)

        thread = await open_panel(slack, send, VIEWED)
        await ask(slack, send, thread, "a kite")
        await eventually(lambda: cards(slack, thread))
        await ask(slack, send, thread, "a second kite")
        refusal = await eventually(
            lambda: [m for m in in_thread(slack, thread) if "daily quota" in m.text]
        )
    assert "daily quota of 1 image" in refusal[0].text
    assert [r.prompt for r in gateway.requests] == ["a kite"]
    assert thread.statuses[-1] == ""
    assert thread.title == "a kite"
