"""Parse a gateway answer into images and the model's words.

The body arrives through :class:`~bot.generation.stream.AnswerReader`, which
has already decoded the big base64 strings; what is parsed here is the
small JSON skeleton around them.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pybase64

from bot.generation.blobs import BadBlob, Blob, BlobFile
from bot.generation.errors import Declined, GatewayErrorCode, MalformedAnswer
from bot.generation.images import GeneratedImage, ImageBytes, NotAnImage, identify, identify_file
from bot.generation.stream import PLACEHOLDER, AnswerReader


@dataclass(frozen=True)
class Answer:
    images: tuple[GeneratedImage, ...]
    text: str
    finish_reason: str | None


def _error_of(body: dict[str, Any]) -> tuple[object, str] | None:
    error = body.get("error")
    if isinstance(error, dict) and error:
        return error.get("code", "error"), str(error.get("message") or error)
    if isinstance(error, str) and error:
        return "error", error
    code = body.get("code", 0)
    if code not in (0, "0", None):
        return code, str(body.get("msg") or body.get("message") or "no message")
    return None


def parse_read_answer(
    reader: AnswerReader, *, logid: str | None = None, redact: Callable[[str], str] = str
) -> Answer:
    """Turn a fully fed :class:`AnswerReader` into an :class:`Answer`.

    ``redact`` scrubs the gateway's words (its error messages, the model's text)
    before they go into an error that users read.

    Raises:
        GatewayErrorCode: ``code != 0`` or an ``error`` object.
        MalformedAnswer: not JSON, no choices, bad base64, or bytes that are no image.
        Declined: no image at all; carries the model's text and finish reason.
    """
    try:
        body = json.loads(reader.finish())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedAnswer("the gateway answered with something that is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedAnswer("the gateway answered with JSON that is not an object")
    error = _error_of(body)
    if error is not None:
        code, gateway_message = error
        raise GatewayErrorCode(code, redact(gateway_message), logid=logid)

    data = body.get("data")
    choices = (data if isinstance(data, dict) else body).get("choices")
    if not isinstance(choices, list) or not choices:
        raise MalformedAnswer("the gateway answer has no choices")

    images: list[GeneratedImage] = []
    texts: list[str] = []
    finish_reason: str | None = None
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        finish_reason = finish_reason or _text_or_none(choice.get("finish_reason"))
        message = choice.get("message")
        contents = message.get("multimodal_contents") if isinstance(message, dict) else None
        for content in contents if isinstance(contents, list) else ():
            if not isinstance(content, dict) or content.get("thought") is True:
                continue
            if content.get("type") == "text" and isinstance(content.get("text"), str):
                texts.append(content["text"].strip())
            elif content.get("type") == "inline_data":
                images.append(_image(content.get("inline_data"), reader.blobs, logid))

    text = redact("\n".join(t for t in texts if t))
    if not images:
        if finish_reason in ("stop", "STOP"):
            finish_reason = None
        raise Declined(text, finish_reason=finish_reason, logid=logid)
    return Answer(images=tuple(images), text=text, finish_reason=finish_reason)


def _data(encoded: str, blobs: list[Blob], logid: str | None) -> ImageBytes | BlobFile:
    """The image bytes, or the file holding them: decoded while streaming (big
    images) or here (small ones)."""
    if encoded.startswith(PLACEHOLDER):
        # The gateway could send a look-alike string: only a real blob's index counts.
        index = encoded.removeprefix(PLACEHOLDER)
        if not (index.isdecimal() and int(index) < len(blobs)):
            raise MalformedAnswer("an image in the answer has no data", logid=logid)
        blob = blobs[int(index)]
        if isinstance(blob, BadBlob):
            raise MalformedAnswer(
                f"an image in the answer is not valid base64: {blob.reason}", logid=logid
            )
        return blob
    try:
        return pybase64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedAnswer("an image in the answer is not valid base64", logid=logid) from exc


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _image(inline: object, blobs: list[Blob], logid: str | None) -> GeneratedImage:
    encoded = inline.get("data") if isinstance(inline, dict) else None
    if not isinstance(encoded, str) or not encoded:
        raise MalformedAnswer("an image in the answer has no data", logid=logid)
    data = _data(encoded, blobs, logid)
    try:
        return identify_file(data.path) if isinstance(data, BlobFile) else identify(data)
    except NotAnImage as exc:
        raise MalformedAnswer(f"an image in the answer is broken: {exc}", logid=logid) from exc
