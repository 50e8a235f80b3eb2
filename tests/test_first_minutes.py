"""What a newcomer meets in the first ten minutes (issue 15): edits that keep their
image's shape, a status line that says what is happening as it happens, a delete
that removes the whole result, and a per-person cap worded as what it counts —
the real process over real HTTP against the stand-ins."""

from __future__ import annotations

import io

from PIL import Image

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, Message, SlackStandIn
from bot.standins.slack_sender import app_mention, envelope, slash_command
from bot.text import COMMAND, count, say
from tests.conftest import ROOT
from tests.harness import RunningBot, eventually
from tests.test_interactive import (
    ALICE,
    CHANNEL,
    cards,
    click,
    controls,
    first_result,
    png,
    results,
)


def picture(width: int, height: int) -> bytes:
    """A photo-like PNG of any pixel size (not one of the model's)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(out, "PNG")
    return out.getvalue()


async def mention(
    bot: RunningBot,
    slack: SlackStandIn,
    text: str,
    *,
    thread_ts: str | None = None,
    files: list[dict[str, object]] | None = None,
) -> Message:
    """``@banana text`` typed by Alice in #general (in a thread, with files)."""
    message = slack.add_user_message(CHANNEL, ALICE, f"<@{BOT_USER}> {text}", thread_ts=thread_ts)
    event = app_mention(message.text, user=ALICE, channel=CHANNEL, ts=message.ts)
    if thread_ts:
        event["thread_ts"] = thread_ts
    if files:
        message.files = files
        event.update(files=files)
    await bot.sender.event(envelope(event))
    return message


def made(slack: SlackStandIn) -> list[Message]:
    """The bot's messages with images (not the ones people attached)."""
    return [m for m in results(slack) if m.user == BOT_USER]


def shapes(gateway: GatewayStandIn) -> list[tuple[str, str]]:
    return [(r.aspect_ratio, r.size) for r in gateway.requests]


# ---- 1. an edit keeps its image's shape ------------------------------------------------
async def test_an_attached_image_is_edited_in_the_ratio_nearest_its_own(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    wide = slack.add_user_file("wide.png", png("a harbour", "16:9"))  # 1376×768
    await mention(bot, slack, "make it night, with stars", files=[wide])
    await eventually(lambda: len(made(slack)) == 1)
    assert shapes(gateway) == [("16:9", "1K")], "not the default 1:1"
    assert "16:9 · 1K" in made(slack)[0].text

    banner = slack.add_user_file("banner.png", picture(1000, 420))  # 2.38: nearest 21:9
    await mention(bot, slack, "in watercolor", files=[banner])
    await eventually(lambda: len(made(slack)) == 2)
    assert shapes(gateway)[1] == ("21:9", "1K")

    # Typed options win over the image's shape.
    await mention(bot, slack, "make it square --ar 1:1", files=[wide])
    await eventually(lambda: len(made(slack)) == 3)
    assert shapes(gateway)[2] == ("1:1", "1K")


async def test_a_thread_edit_keeps_the_shape_and_size_of_the_version_it_edits(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    root = await mention(bot, slack, "a lighthouse --ar 16:9 --size 2K")
    await eventually(lambda: len(made(slack)) == 1)
    await mention(bot, slack, "make it night, with stars", thread_ts=root.ts)
    await eventually(lambda: len(made(slack)) == 2)
    assert shapes(gateway) == [("16:9", "2K")] * 2
    card = (await eventually(lambda: [c for c in cards(slack) if "make it night" in c.text]))[0]
    assert "16:9 · 2K" in card.text, "the card says the shape it was made in"

    # A re-roll keeps everything; another ratio changes only the ratio.
    await bot.sender.interaction(click(card, "banana_reroll", ALICE, slack))
    await eventually(lambda: len(made(slack)) == 3)
    assert shapes(gateway)[2] == ("16:9", "2K")
    ratio = controls(card)["banana_ratio"]
    tall = next(o for o in ratio["options"] if o["value"].endswith("|9:16"))
    await bot.sender.interaction(click(card, "banana_ratio", ALICE, slack, selected_option=tall))
    await eventually(lambda: len(made(slack)) == 4)
    assert shapes(gateway)[3] == ("9:16", "2K")
    assert [r.inputs for r in gateway.requests] == [0, 1, 1, 1]


# ---- 3. the status line tells the truth for short jobs ------------------------------------
async def test_the_status_line_shows_generating_and_the_result_as_they_happen(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    gateway.slow_seconds = 1.0  # a short job: shorter than the gap between two ticks
    gateway.queue("slow")
    card = await first_result(bot, slack, "a quick fox")
    await eventually(lambda: card.text.startswith("✅"))
    edits = slack.calls_to("chat.update")
    (shared,) = slack.calls_to("files.completeUploadExternal")
    assert edits[0].args["text"].startswith("🎨 Generating"), [e.args["text"] for e in edits]
    assert edits[0].at < shared.at, "Generating… was shown while it generated"
    (final,) = [e for e in edits if e.args["text"].startswith("✅")]
    # Before, the result waited for the 3 s edit gap: ~2 s after the image was posted.
    assert final.at - shared.at < 1.0, "the result card follows the image at once"


# ---- 4. delete removes the whole result -------------------------------------------------------
async def test_delete_asks_first_and_removes_the_image_its_message_and_the_card(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    card = await first_result(bot, slack, "a cat to delete")
    (message,) = results(slack)
    assert "asked for" in message.text
    confirm = controls(card)["banana_delete"]["confirm"]
    assert {"title", "text", "confirm", "deny"} <= confirm.keys()
    assert "message" in confirm["text"]["text"], "it says what goes: the message too"
    assert confirm["style"] == "danger"
    await bot.sender.interaction(click(card, "banana_delete", ALICE, slack))
    await eventually(lambda: not slack.visible(CHANNEL))
    assert message.deleted, "the message that carried the image and its logid is gone too"
    assert slack.calls_to("files.info"), "its ts comes from the file's shares"


# ---- 5. the per-person cap counts requests, and says so ---------------------------------------
async def test_the_cap_on_waiting_work_says_requests_and_the_readme_agrees(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    gateway.slow_seconds = 3.0
    gateway.default_mode = "slow"
    for number in range(3):
        reply = await bot.sender.command(
            slash_command(
                f"cat {number} --n 2",
                user=ALICE,
                channel=CHANNEL,
                response_url=slack.response_url("cap"),
            )
        )
        assert "Generating" in reply.json()["text"]
    refused = await bot.sender.command(
        slash_command(
            "one more --n 2", user=ALICE, channel=CHANNEL, response_url=slack.response_url("cap")
        )
    )
    text = refused.json()["text"]
    assert "You already have 3 requests cooking" in text, text
    assert "images" not in text
    expected = say("refused.too_many_queued", requests=count("count.request", 3), command=COMMAND)
    assert "you already have 3 requests cooking" in expected.lower()
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert '("you already have 3 requests cooking")' in readme
    assert "`BANANA_MAX_QUEUED_PER_USER` (3) requests per person" in readme
