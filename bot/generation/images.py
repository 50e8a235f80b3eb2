"""Images as they come back: bytes with their real type and pixel size."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


_HEADER_BYTES = 256 * 1024


class NotAnImage(ValueError):
    """The bytes are not an image Pillow can identify."""


# Big images stay in the bytearray they were decoded into (no extra copy).
ImageBytes = bytes | bytearray


@dataclass(frozen=True, repr=False)
class GeneratedImage:
    data: ImageBytes
    mime_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self.mime_type, "bin")

    def __repr__(self) -> str:
        return f"GeneratedImage({self.mime_type}, {self.width}x{self.height}, {len(self.data)} B)"


def identify(data: ImageBytes) -> GeneratedImage:
    """Read the real format and pixel size from the bytes (headers only, no decoding).

    Raises:
        NotAnImage: the bytes are not PNG, JPEG, WebP or GIF.
    """
    try:
        # The headers sit at the start; no need to hand Pillow megabytes.
        with Image.open(io.BytesIO(bytes(data[:_HEADER_BYTES]))) as image:
            mime = Image.MIME.get(image.format or "", "")
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NotAnImage("the bytes are not an image") from exc
    if mime not in _EXTENSIONS:
        raise NotAnImage(f"unsupported image format {mime or 'unknown'}")
    return GeneratedImage(data=data, mime_type=mime, width=width, height=height)


def file_stem(prompt: str, limit: int = 48) -> str:
    """A readable file name from the prompt: letters (any script) and digits, dashed."""
    stem = re.sub(r"[^\w]+", "-", prompt.lower()).strip("-_")
    return stem[:limit].rstrip("-_") or "image"
