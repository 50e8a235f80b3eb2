"""Images as they come back: bytes with their real type and pixel size."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pybase64
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


MAX_INPUT_BYTES = 7 * 1024 * 1024  # what the gateway takes per input image


@dataclass(frozen=True, repr=False)
class InputImage:
    """An image sent to the model to edit."""

    data: bytes
    mime_type: str

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{pybase64.b64encode(self.data).decode()}"

    def __repr__(self) -> str:
        return f"InputImage({self.mime_type}, {len(self.data)} B)"


def prepare_input(data: ImageBytes, limit: int = MAX_INPUT_BYTES) -> InputImage:
    """Check that ``data`` is an image and shrink it under ``limit`` bytes if needed.

    CPU-heavy for big images: run it in a thread.

    Raises:
        NotAnImage: the bytes are not an image.
    """
    image = identify(data)
    if len(data) <= limit:
        return InputImage(bytes(data), image.mime_type)
    with Image.open(io.BytesIO(bytes(data))) as original:
        picture = original.convert("RGB")
    scale = (limit / len(data)) ** 0.5
    while True:
        size = (max(1, int(picture.width * scale)), max(1, int(picture.height * scale)))
        out = io.BytesIO()
        picture.resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=90)
        if out.tell() <= limit:
            return InputImage(out.getvalue(), "image/jpeg")
        scale *= 0.8
