"""How images travel to Slack: named after their prompt, sent in slices straight
from the buffer they were decoded into (the SDK's helper would hold a second copy
of every upload in flight)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from bot.generation.images import GeneratedImage, file_stem

UPLOAD_SLICE = 1024 * 1024


async def slices(data: bytes | bytearray) -> AsyncIterator[memoryview]:
    """The bytes in 1 MiB views: aiohttp waits for the socket between them."""
    view = memoryview(data)
    for start in range(0, len(view), UPLOAD_SLICE):
        yield view[start : start + UPLOAD_SLICE]


def file_title(prompt: str) -> str:
    return prompt if len(prompt) <= 80 else prompt[:79] + "…"


def file_names(prompt: str, images: Sequence[GeneratedImage]) -> list[tuple[str, GeneratedImage]]:
    stem = file_stem(prompt)
    if len(images) == 1:
        return [(f"{stem}.{images[0].extension}", images[0])]
    return [(f"{stem}-{i}.{image.extension}", image) for i, image in enumerate(images, 1)]
