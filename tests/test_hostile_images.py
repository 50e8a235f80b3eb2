"""Images to edit come from anyone: bombs, truncated files and huge photos end in a
typed :class:`NotAnImage` (the job then ends with its reason), never a stuck job."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.generation.images import (
    MAX_PIXELS,
    ImageTooLarge,
    NotAnImage,
    UnreadableImage,
    file_stem,
    prepare_input,
)
from bot.preview import render_preview
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import BOT_USER, SlackStandIn
from bot.standins.slack_sender import app_mention, envelope
from tests.conftest import png_claiming
from tests.harness import RunningBot, eventually


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")  # as the bot runs
@pytest.mark.parametrize(
    "side",
    [
        20_000,  # past twice Pillow's limit: Pillow raises its own bomb error
        10_000,  # between its limit and twice it: Pillow only warns, and would decode
    ],
)
def test_a_decompression_bomb_is_refused_from_its_header(side: int) -> None:
    assert side * side > MAX_PIXELS
    with pytest.raises(ImageTooLarge, match="that image is too large"):
        prepare_input(png_claiming(side, side))


def test_too_many_pixels_to_shrink_is_refused_before_decoding() -> None:
    # 49 megapixels in a file over the limit: decoding it would cost ~150 MB and seconds.
    # The data is truncated, so a decode would fail differently: this proves none ran.
    with pytest.raises(ImageTooLarge, match=r"7000×7000 pixels"):
        prepare_input(png_claiming(7000, 7000), limit=10)


def _damaged(kind: str) -> bytes:
    png = render_preview("damaged", "1:1", "1K")
    if kind == "truncated":
        return png[: len(png) // 2]
    start = png.find(b"IDAT") + 8  # the compressed pixels, overwritten with junk
    return png[:start] + b"\xff" * 64 + png[start + 64 :]


@pytest.mark.parametrize("kind", ["truncated", "corrupt"])
def test_a_damaged_image_is_not_an_image_i_can_read(kind: str) -> None:
    data = _damaged(kind)
    with pytest.raises(UnreadableImage, match="not an image I can read") as caught:
        prepare_input(data, limit=len(data) // 4)  # so that it must be decoded to shrink
    assert isinstance(caught.value, NotAnImage), "the job runner ends jobs on NotAnImage"


def test_a_big_photo_decodes_at_a_fraction_of_its_size() -> None:
    # 64 megapixels is past what a PNG may decode to, but a JPEG decodes at a
    # fraction of its size (here 1/4), so it is shrunk, not refused.
    out = io.BytesIO()
    Image.new("L", (8000, 8000), 128).save(out, "JPEG", quality=95)
    shrunk = prepare_input(out.getvalue(), limit=out.tell() // 40)
    assert shrunk.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(shrunk.data)) as image:
        assert image.width == image.height < 8000 // 4


@pytest.mark.parametrize(
    ("prompt", "stem"),
    [("CON", "con-image"), ("nul", "nul-image"), ("com1", "com1-image"), ("LPT9", "lpt9-image")],
)
def test_names_windows_reserves_get_a_suffix(prompt: str, stem: str) -> None:
    assert file_stem(prompt) == stem


def test_ordinary_names_keep_their_words() -> None:
    assert file_stem("a console") == "a-console"
    assert file_stem("com10") == "com10"


def test_a_limit_nothing_fits_in_ends_instead_of_shrinking_forever() -> None:
    with pytest.raises(ImageTooLarge):
        prepare_input(render_preview("tiny limit", "1:1", "1K"), limit=10)


async def test_a_bomb_attached_to_a_mention_ends_its_job_with_the_reason(
    bot: RunningBot, gateway: GatewayStandIn, slack: SlackStandIn
) -> None:
    bomb = slack.add_user_file("bomb.png", png_claiming(20_000, 20_000))
    request = slack.add_user_message("C0GENERAL", "U0ALICE", f"<@{BOT_USER}> make it snowy")
    event = app_mention(request.text, user="U0ALICE", channel="C0GENERAL", ts=request.ts)
    event.update(files=[bomb], subtype=None)
    await bot.sender.event(envelope(event))
    (said,) = await eventually(
        lambda: [m for m in slack.visible() if "that image is too large" in m.text]
    )
    assert said.thread_ts == request.ts
    await eventually(lambda: "x" in request.reactions)  # ❌, no longer ⏳
    assert not request.reactions.get("hourglass_flowing_sand")
    assert gateway.requests == [], "nothing was sent to the gateway"
