"""Decode a gateway answer while it arrives, without ever holding the image text.

A 2K image comes as 10–17 MB of base64 inside a JSON string. Parsing the body
whole costs three copies (the body, the string, the bytes) and a long stall.
:class:`AnswerReader` instead copies the JSON *around* big strings into a
small skeleton and base64-decodes each big string chunk by chunk as it
streams in — into a file when given a folder, so the image is not held
either (:mod:`bot.generation.blobs`) — leaving a placeholder in the skeleton.
The skeleton is then parsed normally; placeholders are swapped for the
decoded bytes or their file.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Collection
from pathlib import Path

import pybase64

from bot.generation.blobs import BadBlob, Blob, BlobFile, BlobWriter

BIG_STRING = 64 * 1024  # longer JSON strings are taken for base64 image data
MAX_PRESIZE = 64 * 1024 * 1024  # never trust a Content-Length beyond this
PLACEHOLDER = "\x00blob:"
_ESCAPES_IN_BASE64 = ((b"\\/", b"/"), (b"\\n", b""), (b"\\r", b""))
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=]*\\?")


class AnswerReader:
    """Feed body chunks with :meth:`feed`; :meth:`finish` returns the skeleton and blobs.

    Big strings are decoded into files in ``blob_folder`` when it is given, else in
    memory. The files are the reader's until :meth:`discard` lets go of all but
    those kept: whoever reads an answer calls it, whatever happens.
    """

    def __init__(
        self,
        big_string: int = BIG_STRING,
        expected_size: int | None = None,
        blob_folder: Path | None = None,
    ) -> None:
        self._big_string = big_string
        self.expected_size = expected_size  # the body's Content-Length, when known
        self._blob_folder = blob_folder
        self._skeleton = bytearray()
        self.blobs: list[Blob] = []
        self._in_string = False
        self._plain_text = False  # the current string is long but not base64: keep it
        self._escaped = False  # the previous byte in a small string was a backslash
        self._string_start = 0  # where the current small string's content starts
        # Decoded bytes of the current big string, on their way to a file (or to
        # one buffer sized up front from the Content-Length).
        self._big: BlobWriter | None = None
        self._pending = b""  # base64 not yet decoded (a partial quartet or escape)
        self._bad: str | None = None
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        position, end = 0, len(chunk)
        while position < end:
            if self._big is not None:
                position = self._feed_big(chunk, position)
            elif self._in_string:
                position = self._feed_small(chunk, position)
            else:
                quote = chunk.find(b'"', position)
                if quote < 0:
                    self._skeleton += chunk[position:]
                    return
                self._skeleton += chunk[position : quote + 1]
                self._in_string, self._escaped, self._plain_text = True, False, False
                self._string_start = len(self._skeleton)
                position = quote + 1

    def _feed_small(self, chunk: bytes, position: int) -> int:
        end = len(chunk)
        while position < end:
            if self._escaped:
                self._escaped = False
                self._skeleton.append(chunk[position])
                position += 1
                continue
            quote = chunk.find(b'"', position)
            slash = chunk.find(b"\\", position, quote if quote >= 0 else end)
            if slash >= 0:
                self._skeleton += chunk[position : slash + 1]
                self._escaped = True
                position = slash + 1
                continue
            if quote < 0:
                self._skeleton += memoryview(chunk)[position:]  # no slice copied first
                position = end
                break
            self._skeleton += chunk[position:quote]
            big = len(self._skeleton) - self._string_start > self._big_string
            # A whole big string in one read (reads can be larger than BIG_STRING):
            # image data all the same, if it looks like it.
            if big and not self._plain_text and self._start_big(unread=0):
                self._close_big()
            else:
                self._skeleton += b'"'
                self._in_string = False
            return quote + 1
        if not self._plain_text and len(self._skeleton) - self._string_start > self._big_string:
            # Long enough to be image data: decode it from here on, if it looks like it.
            self._start_big(unread=len(chunk) - position)
        return position

    def _start_big(self, unread: int) -> bool:
        """Take the current string's text so far out of the skeleton and decode it,
        and what follows, into a blob; or, when it is not base64, mark it plain text
        (the model's words, parsed as usual) and return False. Its first
        ``big_string`` bytes tell which (the decoder checks the rest)."""
        start = self._string_start
        probe = bytes(self._skeleton[start : start + self._big_string + 1])
        for escape, plain in _ESCAPES_IN_BASE64:
            probe = probe.replace(escape, plain)
        if not _BASE64_TEXT.fullmatch(probe):
            self._plain_text = True
            return False
        text_so_far = len(self._skeleton) - start
        self._big = BlobWriter(self._blob_folder, self._presize(text_so_far + unread))
        self._pending, self._bad = b"", None
        if self._escaped:  # the escape's second byte has not arrived yet
            self._escaped = False
        self._decode(self._skeleton, start, len(self._skeleton))
        del self._skeleton[start:]
        return True

    def _feed_big(self, chunk: bytes, position: int) -> int:
        quote = chunk.find(b'"', position)
        # A quote right after an odd backslash would be an escaped quote: not base64.
        stop = len(chunk) if quote < 0 else quote
        self._decode(chunk, position, stop)
        if quote < 0:
            return len(chunk)
        self._close_big()
        return quote + 1

    def _decode(self, source: bytes | bytearray, start: int, stop: int) -> None:
        """Decode ``source[start:stop]``, after what the last read left over. Text
        with no escapes (as gateways send it) is decoded where it lies: a slice
        or a join would copy every byte of every image once more."""
        assert self._big is not None
        if self._bad or start >= stop:
            return
        if source.find(b"\\", start, stop) >= 0 or self._pending.endswith(b"\\"):
            self._decode_escaped(bytes(source[start:stop]))
            return
        if self._pending:  # first complete the quartet the last read began
            taken = min(start + 4 - len(self._pending), stop)
            head = self._pending + bytes(source[start:taken])
            if len(head) < 4:
                self._pending = head
                return
            self._pending, start = b"", taken
            if not self._write(head):
                return
        cut = stop - (stop - start) % 4
        with memoryview(source) as view:  # let go before the skeleton is cut
            if cut > start and not self._write(view[start:cut]):
                return
        self._pending = bytes(source[cut:stop])

    def _decode_escaped(self, text: bytes) -> None:
        """Base64 that JSON escaped (``\\/`` for ``/``, line breaks): unescaped first."""
        data = self._pending + text
        for escape, plain in _ESCAPES_IN_BASE64:
            data = data.replace(escape, plain)
        if data.endswith(b"\\"):  # an escape split across chunks
            data, tail = data[:-1], b"\\"
        else:
            tail = b""
        if b"\\" in data:
            self._bad = "the image data contains JSON escapes that are not base64"
            return
        cut = len(data) - len(data) % 4
        if self._write(memoryview(data)[:cut]):
            self._pending = data[cut:] + tail

    def _write(self, text: bytes | memoryview) -> bool:
        """Decode whole quartets into the blob; False (and the string is bad) if
        they are not base64."""
        assert self._big is not None
        try:
            self._big.write(pybase64.b64decode(text, validate=True))
        except binascii.Error as exc:
            self._bad = f"not valid base64 ({exc})"
            return False
        return True

    def _presize(self, text_so_far: int) -> int:
        """Room for the decoded string: at most 3/4 of the body still to come."""
        if not self.expected_size:
            return 0
        remaining = self.expected_size - self.size + text_so_far
        return max(0, min(remaining * 3 // 4 + 3, MAX_PRESIZE))

    def _close_big(self) -> None:
        assert self._big is not None
        if not self._bad and self._pending:
            padded = self._pending + b"=" * (-len(self._pending) % 4)
            try:
                self._big.write(pybase64.b64decode(padded, validate=True))
            except binascii.Error as exc:
                self._bad = f"not valid base64 ({exc})"
        index = len(self.blobs)
        self.blobs.append(self._big.close(self._bad))
        self._skeleton += f'\\u0000blob:{index}"'.encode()
        self._big, self._pending, self._bad, self._in_string = None, b"", None, False

    def finish(self) -> bytes:
        """The JSON skeleton; big strings stand there as ``"\\u0000blob:N"``."""
        if self._big is not None:  # the body ended inside a string: broken JSON anyway
            self._close_big()
        return bytes(self._skeleton)

    def discard(self, keep: Collection[Path] = ()) -> None:
        """Remove the files of this answer's big strings, but those in ``keep``."""
        if self._big is not None:
            self._big.discard()
            self._big = None
        for blob in self.blobs:
            if isinstance(blob, BlobFile) and blob.path not in keep:
                blob.path.unlink(missing_ok=True)


__all__ = ["PLACEHOLDER", "AnswerReader", "BadBlob", "BlobFile"]
