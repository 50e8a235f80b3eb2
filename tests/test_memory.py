"""A made image never sits whole in memory: the gateway's base64 is decoded into a
file in the folder the client is given (the spool's), the spool takes that file as
it is, Slack gets it read back in slices — and no call leaves a file behind."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import mmap
import resource
import signal
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.generation import (
    AnswerTooLarge,
    GeneratedImage,
    GenerationClient,
    ImageRequest,
    MalformedAnswer,
)
from bot.generation.answer import parse_read_answer
from bot.generation.images import identify_file
from bot.generation.stream import AnswerReader
from bot.jobs import Job, JobRunner, Journal, Limits
from bot.jobs.outcomes import Delivered
from bot.jobs.publisher import UploadedFile
from bot.jobs.spool import Spool
from bot.options import ImageOptions
from bot.preview import render_noise_png
from bot.slack.uploads import slices
from bot.slack.writer import SlackWriter
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.fakes import RecordingPublisher
from tests.harness import eventually, running_bot

MakeClient = Callable[..., GenerationClient]


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def answer_body(png: bytes) -> bytes:
    content = {"type": "inline_data", "inline_data": {"mime_type": "image/png", "data": ""}}
    content["inline_data"]["data"] = base64.b64encode(png).decode()  # type: ignore[index]
    choices = [{"finish_reason": "stop", "message": {"multimodal_contents": [content]}}]
    return json.dumps({"code": 0, "data": {"choices": choices}}).encode()


def feed(reader: AnswerReader, body: bytes) -> None:
    """In 64 KiB chunks, as the network delivers a big answer."""
    for start in range(0, len(body), 64 * 1024):
        reader.feed(body[start : start + 64 * 1024])


def test_decoding_an_answer_into_a_folder_never_holds_the_image(tmp_path: Path) -> None:
    png = render_noise_png(1024, 1024)  # ≈3 MB, incompressible
    body = answer_body(png)
    reader = AnswerReader(expected_size=len(body), blob_folder=tmp_path)
    tracemalloc.start()
    try:
        feed(reader, body)
        answer = parse_read_answer(reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024**2, f"{peak} bytes held while decoding a {len(png)} B image"
    (image,) = answer.images
    assert image.data is None
    assert image.path is not None
    assert image.path.parent == tmp_path
    assert image.path.read_bytes() == png
    assert (image.size, image.width, image.height) == (len(png), 1024, 1024)


async def test_a_generated_image_is_a_file_in_the_given_folder(
    gateway: GatewayStandIn, make_client: MakeClient, tmp_path: Path
) -> None:
    gateway.default_mode = "noise"
    generation = await make_client(blob_folder=tmp_path).generate(ImageRequest("a cat"))
    (image,) = generation.images
    assert image.data is None, "no copy in memory"
    assert image.path is not None
    assert files_in(tmp_path) == [image.path]
    assert identify_file(image.path).size == image.size == image.path.stat().st_size


async def test_without_a_folder_images_stay_in_memory(
    gateway: GatewayStandIn, make_client: MakeClient
) -> None:
    gateway.default_mode = "noise"
    (image,) = (await make_client().generate(ImageRequest("a cat"))).images
    assert image.path is None
    assert image.data is not None
    assert len(image.data) == image.size


async def test_an_answer_past_its_ceiling_leaves_no_file(
    gateway: GatewayStandIn, make_client: MakeClient, tmp_path: Path
) -> None:
    gateway.default_mode = "oversized"
    with pytest.raises(AnswerTooLarge):
        await make_client(blob_folder=tmp_path).generate(ImageRequest("a cat"))
    assert files_in(tmp_path) == []


async def test_a_skipped_thought_image_leaves_no_file(
    gateway: GatewayStandIn, make_client: MakeClient, tmp_path: Path
) -> None:
    gateway.default_mode = "thought"  # 2K: both images are big enough to stream
    generation = await make_client(blob_folder=tmp_path).generate(ImageRequest("a cat", size="2K"))
    assert [image.path for image in generation.images] == files_in(tmp_path)


def test_a_big_string_that_is_not_an_image_leaves_no_file(tmp_path: Path) -> None:
    body = answer_body(b"\0" * 200_000)
    reader = AnswerReader(blob_folder=tmp_path)
    feed(reader, body)
    with pytest.raises(MalformedAnswer, match="broken"):
        parse_read_answer(reader)
    reader.discard()
    assert files_in(tmp_path) == []


def test_a_folder_that_refuses_files_falls_back_to_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    png = render_noise_png(256, 256)
    reader = AnswerReader(blob_folder=tmp_path / "missing")
    feed(reader, answer_body(png))
    (image,) = parse_read_answer(reader).images
    assert image.path is None
    assert image.data == png
    assert "cannot decode into" in caplog.text


@pytest.mark.parametrize("told_size", [False, True], ids=["size-unknown", "size-told"])
def test_a_disk_that_stops_taking_the_file_midway_falls_back_to_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, told_size: bool
) -> None:
    png = render_noise_png(400, 400)  # ≈480 KB
    # Told the size, it reserves the file's room first: the reservation is refused too.
    expected = len(answer_body(png)) if told_size else None
    reader = AnswerReader(blob_folder=tmp_path, expected_size=expected)
    # A real limit on file size: past 100 KB the kernel refuses writes (EFBIG).
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, limit[1]))
    try:
        feed(reader, answer_body(png))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)
    (image,) = parse_read_answer(reader).images
    assert image.path is None
    assert image.data == png
    assert files_in(tmp_path) == [], "the half-written file is gone"
    assert "File too large" in caplog.text


@dataclass
class KeepingPublisher(RecordingPublisher):
    """Records the images it is asked to upload, as they are handed over."""

    seen: list[GeneratedImage] = field(default_factory=list)
    bytes_seen: list[bytes] = field(default_factory=list)

    async def upload(self, job: Job, images: Sequence[GeneratedImage]) -> list[UploadedFile]:
        self.seen.extend(images)
        self.bytes_seen.extend(i.path.read_bytes() for i in images if i.path is not None)
        return await super().upload(job, images)


def a_2k_job(prompt: str) -> Job:
    options = ImageOptions("1:1", "2K", 1)
    return Job(f"k-{prompt}", "U1", "C1", prompt, options, source="command")


async def deliver_2k(
    make_client: MakeClient, tmp_path: Path, spool: Spool, prompt: str
) -> tuple[KeepingPublisher, Job]:
    """One 2K job through the job core, its images decoded into ``spool.incoming``;
    the first upload fails (Slack away for a moment), so a retry follows."""
    journal = await Journal.open(tmp_path / "journal.db")
    publisher = KeepingPublisher(upload_outage=["http_503"])
    client = make_client(blob_folder=spool.incoming)
    runner = JobRunner(client, publisher, journal, workers=1, spool=spool)
    runner.start()
    await runner.recover()
    job = a_2k_job(prompt)
    try:
        await journal.admit(job, [job.key], Limits())
        runner.submit(job)
        await eventually(lambda: publisher.outcomes)
        assert isinstance(publisher.outcomes[0][2], Delivered)
    finally:
        await runner.close(grace=1.0)
        await journal.close()
    return publisher, job


async def test_the_spool_takes_the_decoded_file_and_the_upload_reads_it(
    gateway: GatewayStandIn, make_client: MakeClient, tmp_path: Path
) -> None:
    gateway.default_mode = "noise"
    spool = Spool(tmp_path / "spool", 1024**3)
    publisher, job = await deliver_2k(make_client, tmp_path, spool, "a cat kept on disk")
    first, retry = publisher.seen  # the first attempt as saved, the retry as read back
    for image in (first, retry):
        assert image.data is None, "uploaded from the spool's file, not from memory"
        assert image.path == spool.root / job.id / "0.png"
    assert len(publisher.bytes_seen[1]) == retry.size > 4 * 1024**2
    assert files_in(spool.incoming) == []
    assert spool.jobs() == 0, "delivered: gone from the spool"


async def test_past_the_spools_cap_the_decoded_file_is_uploaded_then_removed(
    gateway: GatewayStandIn, make_client: MakeClient, tmp_path: Path
) -> None:
    gateway.default_mode = "noise"
    spool = Spool(tmp_path / "spool", 1)  # one byte: nothing fits
    publisher, _ = await deliver_2k(make_client, tmp_path, spool, "a cat too big to spool")
    first, retry = publisher.seen
    assert first.path == retry.path, "both attempts read the file it was made in"
    assert first.path is not None
    assert first.path.parent == spool.incoming
    assert first.data is None
    assert files_in(spool.incoming) == [], "its file went once it was delivered"


async def test_a_file_backed_image_reaches_slack_whole(slack: SlackStandIn, tmp_path: Path) -> None:
    png = render_noise_png(700, 700)  # ≈1.5 MB: more than one slice
    path = tmp_path / "made.part"
    path.write_bytes(png)
    image = identify_file(path)
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, session=session)
        (uploaded,) = await SlackWriter(client, session).upload("a cat", [image])
    assert slack.uploads[uploaded["id"]]["data"] == png
    assert files_in(tmp_path) == [path], "the upload reads the file; the spool decides when it goes"


def test_the_files_room_on_disk_is_reserved_before_it_is_written(tmp_path: Path) -> None:
    """Told the answer's size, the decoder reserves the image's blocks in one go
    (the filesystem then maps them once, not a page at a time as they arrive:
    0.8 ms of CPU less per 2K image here), and gives back what it did not need."""
    png = render_noise_png(1024, 1024)
    body = answer_body(png)
    reader = AnswerReader(expected_size=len(body), blob_folder=tmp_path)
    reader.feed(body[: 512 * 1024])
    (made,) = files_in(tmp_path)
    assert made.stat().st_blocks * 512 >= len(png), "room for the whole image, reserved"
    reader.feed(body[512 * 1024 :])
    (image,) = parse_read_answer(reader).images
    assert image.path is not None
    assert image.path.stat().st_size == len(png)
    assert image.path.stat().st_blocks * 512 < len(png) + 64 * 1024, "the rest given back"
    assert image.path.read_bytes() == png


def test_decoding_copies_none_of_the_text_it_is_given(tmp_path: Path) -> None:
    """Each read is decoded where it lies: no slice of it, nor a copy joined to the
    last read's leftover, is made first (each would cost a copy of every byte)."""
    png = render_noise_png(1024, 1024)
    body = answer_body(png)
    # 1 MiB reads, cut so that each leaves a partial quartet for the next.
    pieces = [body[start : start + 1024**2 + 1] for start in range(0, len(body), 1024**2 + 1)]
    reader = AnswerReader(expected_size=len(body), blob_folder=tmp_path)
    reader.feed(pieces[0])  # where the string starts: held until it is seen to be base64
    tracemalloc.start()
    try:
        for piece in pieces[1:]:
            reader.feed(piece)
        answer = parse_read_answer(reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (image,) = answer.images
    assert image.path is not None
    assert image.path.read_bytes() == png
    # What one read decodes to (3/4 of it) is all it may take, and a little more.
    assert peak < 1024**2, f"{peak} bytes held while decoding 1 MiB reads"


async def test_an_upload_reads_its_file_without_copying_it_into_memory(tmp_path: Path) -> None:
    """The slices handed to the socket are views of the file's pages, not copies
    read into new buffers: a copy costs CPU for every byte of every image."""
    png = render_noise_png(1024, 1024)  # ≈3 MB: three slices
    path = tmp_path / "made.part"
    path.write_bytes(png)
    image = identify_file(path)
    digest, sizes = hashlib.sha256(), []
    tracemalloc.start()
    try:
        async for piece in slices(image):
            sizes.append(len(piece))
            digest.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.digest() == hashlib.sha256(png).digest()
    assert len(sizes) > 2
    assert peak < 256 * 1024, f"{peak} bytes allocated to send a {len(png)} B file"


async def test_a_file_that_cannot_be_mapped_is_read_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some filesystems (a few network and FUSE ones) cannot map files: the upload
    reads the file a slice at a time there instead of failing every attempt."""
    png = render_noise_png(700, 700)
    path = tmp_path / "made.part"
    path.write_bytes(png)
    image = identify_file(path)

    def no_mapping(*args: object, **kwargs: object) -> mmap.mmap:
        raise OSError(errno.ENODEV, "No such device")

    monkeypatch.setattr(mmap, "mmap", no_mapping)
    sent = b"".join([bytes(piece) async for piece in slices(image)])
    assert sent == png


async def test_an_upload_of_a_file_that_shrank_fails_instead_of_sending_less(
    tmp_path: Path,
) -> None:
    path = tmp_path / "made.part"
    path.write_bytes(render_noise_png(300, 300))
    image = identify_file(path)
    with path.open("r+b") as file:
        file.truncate(image.size // 2)
    with pytest.raises(OSError, match="bytes early"):
        async for _ in slices(image):
            pass


def files_left(spool: Path) -> list[str]:
    """Image files anywhere under the spool, the folders images are made in included."""
    return sorted(f.name for f in spool.rglob("*") if f.is_file() and f.suffix != ".lock")


async def test_a_big_image_spooled_by_a_killed_bot_is_delivered_whole_after_restart(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The real process: the image made in a file and taken by the spool survives
    kill -9; the next start sweeps what a dead process was making, keeps the spool."""
    gateway.default_mode = "noise"
    spool = tmp_path / "data" / "spool"
    async with running_bot(gateway, slack, tmp_path) as bot:
        slack.outage(3600, "upload")
        fields = slash_command("a big cat", user="U0ALICE", channel="C0GENERAL")
        assert (await bot.sender.command(fields)).status == 200
        # Spooled: the job's folder is renamed into place whole.
        await eventually(lambda: [d for d in spool.iterdir() if d.name[0] != "."], limit=20)
        await bot.stop(signal.SIGKILL)
    dead = spool / ".incoming" / "1-dead"
    dead.mkdir(exist_ok=True)
    (dead / "abandoned.part").write_bytes(b"half an image")
    slack.outage(0, "upload")
    async with running_bot(gateway, slack, tmp_path):
        (shared,) = await eventually(lambda: [m for m in slack.visible() if m.files], limit=30)
        await eventually(lambda: files_left(spool) == [])
    body = json.loads(gateway._noise_bodies[("1:1", "1K")])
    content = body["data"]["choices"][0]["message"]["multimodal_contents"][1]
    made = base64.b64decode(content["inline_data"]["data"])
    assert slack.uploads[shared.files[0]["id"]]["data"] == made
    assert len(gateway.requests) == 1, "delivered from the spool, not made again"
    assert not dead.exists()


def test_a_big_image_read_whole_in_one_slice_is_still_decoded_into_a_file(
    tmp_path: Path,
) -> None:
    # Reads are up to 1 MiB (bot/gateway.py): a 100 KB image can arrive, quotes and
    # all, in one of them, and must not be left to the JSON parser, in memory.
    png = render_noise_png(160, 160)
    reader = AnswerReader(blob_folder=tmp_path)
    reader.feed(answer_body(png))
    (image,) = parse_read_answer(reader).images
    assert image.path is not None
    assert image.path.read_bytes() == png
    assert files_in(tmp_path) == [image.path]
