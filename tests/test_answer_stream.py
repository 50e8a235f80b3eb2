"""The streaming answer reader gives what a whole-body parse would, however the
body is cut into chunks."""

from __future__ import annotations

import base64
import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.generation.stream import PLACEHOLDER, AnswerReader, BadBlob


def read(body: bytes, cuts: list[int], big: int = 64) -> tuple[object, list[bytes | BadBlob]]:
    reader = AnswerReader(big_string=big)
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    for start, end in itertools.pairwise(points):
        reader.feed(body[start:end])
    return json.loads(reader.finish()), reader.blobs


def resolve(value: object, blobs: list[bytes | BadBlob]) -> object:
    if isinstance(value, str) and value.startswith(PLACEHOLDER):
        blob = blobs[int(value.removeprefix(PLACEHOLDER))]
        assert isinstance(blob, bytes)
        return base64.b64encode(blob).decode()
    if isinstance(value, dict):
        return {k: resolve(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, blobs) for v in value]
    return value


@settings(max_examples=200)
@given(
    images=st.lists(st.binary(min_size=0, max_size=400), min_size=1, max_size=3),
    texts=st.lists(st.text(max_size=120), max_size=3),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
    escape_slashes=st.booleans(),
)
def test_chunked_reading_equals_whole_parsing(
    images: list[bytes], texts: list[str], cuts: list[int], escape_slashes: bool
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
    parsed, blobs = read(body, cuts)
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
