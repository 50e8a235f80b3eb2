"""The streaming answer reader gives what a whole-body parse would, however the
body is cut into chunks."""

from __future__ import annotations

import base64
import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.generation.stream import PLACEHOLDER, AnswerReader, BadBlob


def read(
    body: bytes, cuts: list[int], big: int = 64, expected_size: int | None = None
) -> tuple[object, list[bytearray | BadBlob]]:
    reader = AnswerReader(big_string=big, expected_size=expected_size)
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    for start, end in itertools.pairwise(points):
        reader.feed(body[start:end])
    return json.loads(reader.finish()), reader.blobs


def resolve(value: object, blobs: list[bytearray | BadBlob]) -> object:
    if isinstance(value, str) and value.startswith(PLACEHOLDER):
        blob = blobs[int(value.removeprefix(PLACEHOLDER))]
        assert isinstance(blob, bytearray)
        return base64.b64encode(blob).decode()
    if isinstance(value, dict):
        return {k: resolve(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, blobs) for v in value]
    return value


@settings(max_examples=200)
@given(
    images=st.lists(
        st.one_of(st.binary(max_size=10), st.binary(min_size=30, max_size=600)),
        min_size=1,
        max_size=3,
    ),
    texts=st.lists(st.text(max_size=20), max_size=3),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
    step=st.integers(1, 300),
    escape_slashes=st.booleans(),
    # The Content-Length the reader is told: none, right, too small or too big.
    size_error=st.one_of(st.none(), st.sampled_from([0, -1, -50, 3, 10_000])),
)
def test_chunked_reading_equals_whole_parsing(
    images: list[bytes],
    texts: list[str],
    cuts: list[int],
    step: int,
    escape_slashes: bool,
    size_error: int | None,
) -> None:
    contents: list[dict[str, object]] = [{"type": "text", "text": t} for t in texts]
    contents += [
        {
            "type": "inline_data",
            "inline_data": {"mime_type": "image/png", "data": base64.b64encode(i).decode()},
        }
        for i in images
    ]
    answer = {"code": 0, "data": {"choices": [{"message": {"multimodal_contents": contents}}]}}
    body = json.dumps(answer, ensure_ascii=False).encode()
    if escape_slashes:  # JSON may escape "/" as "\/"
        body = body.replace(b"/", b"\\/")
    expected = None if size_error is None else max(0, len(body) + size_error)
    # A threshold above every key and text here but below most images, so that
    # most images take the streaming path (long texts: test_long_text_stays_text).
    cuts += range(0, len(body), step)  # chunks as the network delivers them, and odd cuts
    parsed, blobs = read(body, cuts, big=24, expected_size=expected)
    assert resolve(parsed, blobs) == answer


def test_big_strings_are_decoded_and_never_kept_as_text() -> None:
    image = bytes(range(256)) * 2000
    body = json.dumps({"data": base64.b64encode(image).decode(), "text": 'a "quoted" word'})
    reader = AnswerReader()
    for start in range(0, len(body), 1000):
        reader.feed(body[start : start + 1000].encode())
    skeleton = reader.finish()
    assert len(skeleton) < 100
    assert reader.blobs == [image]
    assert json.loads(skeleton)["text"] == 'a "quoted" word'


def test_long_text_stays_text() -> None:
    text = 'line one\n\u001f "quoted" ' * 10_000
    body = json.dumps({"text": text, "data": base64.b64encode(b"x" * 100_000).decode()})
    parsed, blobs = read(body.encode(), list(range(0, len(body), 5000)), big=64 * 1024)
    assert parsed["text"] == text
    assert blobs == [b"x" * 100_000]


def test_invalid_base64_in_a_big_string_is_reported() -> None:
    body = json.dumps({"data": "AAAA" * 20_000 + "!!!!" * 50_000}).encode()
    reader = AnswerReader()
    for start in range(0, len(body), 4096):
        reader.feed(body[start : start + 4096])
    reader.finish()
    (blob,) = reader.blobs
    assert isinstance(blob, BadBlob)
    assert "not valid base64" in blob.reason
