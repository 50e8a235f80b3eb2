"""Offline preview images: a real image of the model's pixel size that shows the
prompt. Drawn by the gateway stand-in and the sandbox when there is no key."""

from __future__ import annotations

import hashlib
import io
import os
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from bot.generation.model import pixel_size

_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _CJK_FONTS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=32)
def render_preview(
    prompt: str, aspect_ratio: str, size: str, image_format: str = "PNG", label: str = ""
) -> bytes:
    """An image of the published pixel size for ``aspect_ratio``/``size`` showing ``prompt``."""
    width, height = pixel_size(aspect_ratio, size)
    digest = hashlib.sha256(prompt.encode()).digest()
    top, bottom = digest[:3], digest[3:6]
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB",
        [
            gradient.point([a + (b - a) * v // 255 for v in range(256)])
            for a, b in zip(top, bottom, strict=True)
        ],
    )
    draw = ImageDraw.Draw(image)
    font_size = max(16, min(width, height) // 16)
    font = _font(font_size)
    columns = max(12, int(width / (font_size * 0.62)))
    lines = textwrap.wrap(prompt, columns)[:8] or [" "]
    if label:
        lines = [label, "", *lines]
    text = "\n".join(lines)
    box = draw.multiline_textbbox((0, 0), text, font=font, spacing=font_size // 3)
    x = (width - (box[2] - box[0])) // 2
    y = (height - (box[3] - box[1])) // 2
    pad = font_size
    draw.rectangle(
        (x - pad, y - pad, x + box[2] - box[0] + pad, y + box[3] - box[1] + pad), fill=(0, 0, 0)
    )
    draw.multiline_text((x, y), text, font=font, fill=(255, 236, 140), spacing=font_size // 3)
    out = io.BytesIO()
    if image_format == "PNG":
        image.save(out, "PNG", compress_level=1)
    else:
        image.save(out, image_format, quality=85)
    return out.getvalue()


def render_noise_png(width: int, height: int) -> bytes:
    """An incompressible PNG (random pixels): the heaviest answer the gateway can give."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
