"""Images as they come back (bytes with their real type and pixel size) and as they
go out to be edited (checked, and shrunk under the gateway's size limit).

Image bytes come from outside (the gateway, Slack uploads): their headers are
read before anything is decoded, and no image bigger than :data:`MAX_PIXELS`
is opened for decoding at all.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pybase64
from PIL import Image

logger = logging.getLogger(__name__)

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
_HEADER_BYTES = 256 * 1024

# Pillow's own decompression-bomb limit. Pillow merely warns between it and twice
# it, and decodes anyway; here that band is an error like the one above it.
MAX_PIXELS = 89_478_485
warnings.simplefilter("error", Image.DecompressionBombWarning)
# The most pixels one input may decode to when it must be shrunk: about 120 MB as
# RGB. A big JPEG photo decodes at 1/2, 1/4 or 1/8 scale to fit; a PNG cannot.
MAX_DECODED_PIXELS = 40_000_000


class NotAnImage(ValueError):
    """The bytes are not an image Pillow can identify."""


class ImageTooLarge(NotAnImage):
    """More pixels than the bot will decode; refused from the header alone."""

    def __init__(self, size: tuple[int, int] | None = None) -> None:
        pixels = f" ({size[0]}×{size[1]} pixels)" if size else ""
        super().__init__(f"that image is too large{pixels}")


class UnreadableImage(NotAnImage):
    """The header looked like an image, the rest did not (truncated, corrupt, ...)."""

    def __init__(self) -> None:
        super().__init__("not an image I can read")


@contextmanager
def _reading_untrusted_bytes() -> Iterator[None]:
    """Pillow meets hostile bytes with a zoo of exceptions (OSError, SyntaxError,
    EOFError, struct.error, ValueError, bomb errors, ...): each becomes a
    :class:`NotAnImage` saying what the user can do about it."""
    try:
        yield
    except NotAnImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge from exc
    except Exception as exc:
        logger.info("unreadable image bytes (%s: %s)", type(exc).__name__, exc)
        raise UnreadableImage from exc


# Big images stay in the bytearray they were decoded into (no extra copy).
ImageBytes = bytes | bytearray


@dataclass(frozen=True, repr=False)
class GeneratedImage:
    """A made image: its bytes in memory (``data``), or in a file (``path``) when the
    client was given a folder for them — then it is never held whole in memory."""

    mime_type: str
    width: int
    height: int
    size: int  # bytes
    data: ImageBytes | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError("an image is in memory or in a file, one of the two")

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self.mime_type, "bin")

    def read(self) -> bytes | bytearray:
        """The whole image (small ones, the CLI): from memory, or read from its file.

        Raises:
            OSError: its file cannot be read.
        """
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def moved_to(self, path: Path) -> GeneratedImage:
        """The same image, now in the file at ``path``."""
        return replace(self, data=None, path=path)

    def __repr__(self) -> str:
        where = "in memory" if self.path is None else self.path.name
        return (
            f"GeneratedImage({self.mime_type}, {self.width}x{self.height}, {self.size} B, {where})"
        )


def identify(data: ImageBytes) -> GeneratedImage:
    """Read the real format and pixel size from the bytes (headers only, no decoding).

    Raises:
        NotAnImage: the bytes are not PNG, JPEG, WebP or GIF.
        ImageTooLarge: the header claims more than :data:`MAX_PIXELS` pixels.
    """
    mime, width, height = _identify_header(bytes(data[:_HEADER_BYTES]))
    return GeneratedImage(mime, width, height, len(data), data=data)


def identify_file(path: Path) -> GeneratedImage:
    """:func:`identify` for an image in a file: only its header is read.

    Raises:
        NotAnImage: see :func:`identify`.
        OSError: the file cannot be read.
    """
    with path.open("rb") as file:
        header = file.read(_HEADER_BYTES)
        size = os.fstat(file.fileno()).st_size
    mime, width, height = _identify_header(header)
    return GeneratedImage(mime, width, height, size, path=path)


def _identify_header(header: bytes) -> tuple[str, int, int]:
    # The headers sit at the start; no need to hand Pillow megabytes.
    try:
        with _reading_untrusted_bytes(), Image.open(io.BytesIO(header)) as image:
            mime = Image.MIME.get(image.format or "", "")
            width, height = image.size
    except UnreadableImage as exc:
        raise NotAnImage("the bytes are not an image") from exc
    if width * height > MAX_PIXELS:
        raise ImageTooLarge((width, height))
    if mime not in _EXTENSIONS:
        raise NotAnImage(f"unsupported image format {mime or 'unknown'}")
    return mime, width, height


# Names Windows keeps for devices, whatever the extension: ``con.png`` is the console.
_RESERVED_STEMS = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"{port}{n}" for port in ("com", "lpt") for n in [*"123456789", "¹", "²", "³"]]
)


def file_stem(prompt: str, limit: int = 48) -> str:
    """A readable file name from the prompt: letters (any script) and digits, dashed;
    never a name Windows reserves for a device."""
    stem = re.sub(r"[^\w]+", "-", prompt.lower()).strip("-_")
    stem = stem[:limit].rstrip("-_") or "image"
    return f"{stem}-image" if stem in _RESERVED_STEMS else stem


MAX_INPUT_BYTES = 7 * 1024 * 1024  # what the gateway takes per input image
_SHRINK_TRIES = 20  # each 0.8 times the last: down to 1/90 of the first guess


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
        NotAnImage: the bytes are not an image; its subclasses say why:
            :class:`ImageTooLarge` (refused from its header, before decoding) or
            :class:`UnreadableImage` (truncated, corrupt, or a decoder failed).
    """
    image = identify(data)
    if len(data) <= limit:
        return InputImage(bytes(data), image.mime_type)
    with _reading_untrusted_bytes():
        return _shrink(bytes(data), limit)


def _shrink(data: bytes, limit: int) -> InputImage:
    scale = (limit / len(data)) ** 0.5  # a first guess at the size that fits in ``limit``
    with Image.open(io.BytesIO(data)) as original:
        full_size = original.size
        # A JPEG decodes straight to 1/2, 1/4 or 1/8 of its size, if asked before loading.
        original.draft("RGB", _scaled(full_size, min(scale, 1 / _reduction(full_size))))
        if original.width * original.height > MAX_DECODED_PIXELS:
            raise ImageTooLarge(full_size)
        picture = original if original.mode == "RGB" else original.convert("RGB")
        for _ in range(_SHRINK_TRIES):
            width, height = _scaled(full_size, scale)
            size = min(width, picture.width), min(height, picture.height)
            out = io.BytesIO()
            # reducing_gap: a cheap box reduction first, then LANCZOS over fewer pixels.
            picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3).save(
                out, "JPEG", quality=90
            )
            if out.tell() <= limit:
                return InputImage(out.getvalue(), "image/jpeg")
            scale *= 0.8
    raise ImageTooLarge(full_size)  # not even a thumbnail fits in ``limit``


def _reduction(size: tuple[int, int]) -> int:
    """The least JPEG draft reduction that brings ``size`` within MAX_DECODED_PIXELS."""
    pixels = size[0] * size[1]
    return next((s for s in (1, 2, 4) if pixels / (s * s) <= MAX_DECODED_PIXELS), 8)


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))
