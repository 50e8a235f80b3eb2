"""How images travel to Slack: named after their prompt, sent in slices — from the
file they were made in, read a slice at a time, or from the buffer they were
decoded into (the SDK's helper would hold a second copy of every upload in
flight)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from bot.generation.images import GeneratedImage, file_stem

UPLOAD_SLICE = 1024 * 1024


async def slices(image: GeneratedImage) -> AsyncIterator[bytes | memoryview]:
    """The image in 1 MiB slices: aiohttp waits for the socket between them, so an
    upload in flight holds about one slice.

    Raises:
        OSError: its file cannot be read, or holds less than it did.
    """
    if image.path is None:
        assert image.data is not None
        view = memoryview(image.data)
        for start in range(0, len(view), UPLOAD_SLICE):
            yield view[start : start + UPLOAD_SLICE]
        return
    with image.path.open("rb") as file:
        left = image.size
        while left > 0:
            # A thread: a slice not in the page cache waits for the disk.
            piece = await asyncio.to_thread(file.read, min(UPLOAD_SLICE, left))
            if not piece:
                raise OSError(f"{image.path.name} ended {left} bytes early")
            left -= len(piece)
            yield piece


def file_title(prompt: str) -> str:
    return prompt if len(prompt) <= 80 else prompt[:79] + "…"


def file_names(prompt: str, images: Sequence[GeneratedImage]) -> list[tuple[str, GeneratedImage]]:
    stem = file_stem(prompt)
    if len(images) == 1:
        return [(f"{stem}.{images[0].extension}", images[0])]
    return [(f"{stem}-{i}.{image.extension}", image) for i, image in enumerate(images, 1)]
