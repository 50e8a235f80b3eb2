"""Offline preview images: a real image of the model's pixel size, different for
every take, that carries its prompt as metadata rather than in its pixels.

Why not draw the prompt into the pixels: the machine that draws the preview
(a container, a bare Linux box) often has no CJK or emoji fonts, and Pillow
then draws boxes. The sandbox page reads the prompt back with
:func:`read_preview` and the browser draws it over the image with the
viewer's own fonts, which do have those scripts. The pixels only say
"offline preview", the take number and the pixel size, all in ASCII.
"""

from __future__ import annotations

import io
import json
import os
import random
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from bot.generation.model import pixel_size

_PROMPT_KEY = "Description"  # PNG's registered keyword for a picture's description
_TAKE_KEY = "banana-take"
_HEADER_BYTES = 256 * 1024


@dataclass(frozen=True)
class PreviewFacts:
    """What the bytes of an image say about it: its pixel size and, for an
    offline preview, the prompt and take it was drawn for."""

    width: int
    height: int
    prompt: str | None = None
    take: int | None = None


@lru_cache(maxsize=32)
def render_preview(
    prompt: str,
    aspect_ratio: str,
    size: str,
    image_format: str = "PNG",
    label: str = "",
    take: int = 1,
    seed: str = "",
) -> bytes:
    """An image of the published pixel size for ``aspect_ratio``/``size``.

    ``seed`` (with ``prompt`` and ``take``) picks its colours and shapes, so two
    takes of one prompt look different; ``prompt`` and ``take`` travel in the
    file's metadata (PNG text chunks, JPEG comment).
    """
    width, height = pixel_size(aspect_ratio, size)
    chance = random.Random(f"{seed}\0{prompt}\0{take}")  # a picture, not a secret

    def colour() -> tuple[int, int, int]:
        return (chance.randrange(256), chance.randrange(256), chance.randrange(256))

    top, bottom = colour(), colour()
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB",
        [
            gradient.point([a + (b - a) * v // 255 for v in range(256)])
            for a, b in zip(top, bottom, strict=True)
        ],
    )
    draw = ImageDraw.Draw(image)
    shortest = min(width, height)
    for _ in range(6):
        radius = chance.randrange(shortest // 12, shortest // 4)
        cx, cy = chance.randrange(width), chance.randrange(height)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour())
    font_size = max(16, shortest // 14)
    font = ImageFont.load_default(size=font_size)
    lines = [label or "preview", f"take {take}", f"{width}x{height}"]
    text = "\n".join(lines)
    box = draw.multiline_textbbox((0, 0), text, font=font, spacing=font_size // 3, align="center")
    x = (width - (box[2] - box[0])) // 2
    y = (height - (box[3] - box[1])) // 2
    pad = font_size // 2
    draw.rectangle(
        (x - pad, y - pad, x + box[2] - box[0] + pad, y + box[3] - box[1] + pad), fill=(0, 0, 0)
    )
    draw.multiline_text(
        (x, y), text, font=font, fill=(255, 236, 140), spacing=font_size // 3, align="center"
    )
    out = io.BytesIO()
    if image_format == "PNG":
        info = PngInfo()
        info.add_itxt(_PROMPT_KEY, prompt)
        info.add_text(_TAKE_KEY, str(take))
        image.save(out, "PNG", compress_level=1, pnginfo=info)
    else:
        comment = json.dumps({"prompt": prompt, "take": take}, ensure_ascii=False)
        image.save(out, image_format, quality=85, comment=comment.encode())
    return out.getvalue()


def read_preview(data: bytes | bytearray) -> PreviewFacts | None:
    """Pixel size, and prompt and take when ``data`` is an offline preview;
    ``None`` when the bytes are no image. Reads the headers only."""
    try:
        with Image.open(io.BytesIO(bytes(data[:_HEADER_BYTES]))) as image:
            width, height = image.size
            info = dict(image.info)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    prompt, take = info.get(_PROMPT_KEY), info.get(_TAKE_KEY)
    comment = info.get("comment")
    if prompt is None and isinstance(comment, bytes):
        try:
            described = json.loads(comment)
        except ValueError:
            described = None
        if isinstance(described, dict):
            prompt, take = described.get("prompt"), described.get("take")
    if not isinstance(prompt, str):
        return PreviewFacts(width, height)
    number = int(str(take)) if str(take).isdigit() else None
    return PreviewFacts(width, height, prompt, number)


def render_noise_png(width: int, height: int) -> bytes:
    """An incompressible PNG (random pixels): the heaviest answer the gateway can give."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
