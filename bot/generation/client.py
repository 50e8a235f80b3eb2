"""The gateway client: one request in, images out, or a typed error.

Knows nothing about Slack. Every call goes through the shared :class:`Pacer`;
retryable failures are retried with exponential backoff and jitter, bounded
in attempts and in total time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from bot.generation.answer import Answer, parse_read_answer
from bot.generation.errors import (
    AnswerTooLarge,
    Declined,
    GatewayTimeout,
    GenerationError,
    MalformedAnswer,
    RateLimited,
    UpstreamUnavailable,
)
from bot.generation.images import GeneratedImage, InputImage
from bot.generation.pacing import CallPacer
from bot.generation.refusals import raise_for_status
from bot.generation.stream import AnswerReader
from bot.logs import SecretRedactor

logger = logging.getLogger(__name__)

MAX_TOKENS = 20000
# Ceilings on what a gateway may send: a 2K image's answer is about 17 MB.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Sent on the one retry after a text-only answer, as other clients of the model do.
IMAGE_INSTRUCTION = "Generate an image. Respond with the image only.\n\n"


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    aspect_ratio: str = "1:1"
    size: str = "1K"
    image_only: bool = False
    images: tuple[InputImage, ...] = ()  # images to edit, sent as user input

    def body(self, model: str) -> dict[str, object]:
        """The gateway's request body, exactly as the seed sends it (plus input images,
        OpenAI-style, as every public client of this gateway sends them)."""
        text = IMAGE_INSTRUCTION + self.prompt if self.image_only else self.prompt
        content: list[dict[str, object]] = [{"type": "text", "text": text}]
        content += [
            {"type": "image_url", "image_url": {"url": image.data_url()}} for image in self.images
        ]
        return {
            "stream": False,
            "model": model,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": content}],
            "response_modalities": ["IMAGE"] if self.image_only else ["TEXT", "IMAGE"],
            "image_config": {
                "aspectRatio": self.aspect_ratio,
                "imageSize": self.size,
                "imageOutputOptions": {"mimeType": "image/png"},
            },
        }


@dataclass(frozen=True)
class Generation:
    images: tuple[GeneratedImage, ...]
    text: str
    logid: str
    attempts: int
    elapsed: float


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    within: float = 600.0
    backoff: float = 2.0
    max_backoff: float = 60.0

    def delay(self, attempt: int, error: GenerationError) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        base = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        delay = base * random.uniform(0.5, 1.5)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay


def new_logid() -> str:
    """``nanobanana_{uuid4hex}_{unix_ts}``, as the seed makes it."""
    return f"nanobanana_{uuid.uuid4().hex}_{int(time.time())}"


class GenerationClient:
    """Calls the image gateway. Raises only :class:`GenerationError` subclasses.

    Each call has a whole deadline, ``timeout`` seconds from its start to the last
    byte read (a gateway trickling one byte a second would otherwise hold a pacing
    slot forever), and its answer a ceiling in bytes. Text from the gateway that
    reaches an error message is scrubbed of the key (gateways echo request URLs).

    With a ``blob_folder``, images are decoded straight into files there (see
    :class:`~bot.generation.images.GeneratedImage`); they are the caller's to keep
    or remove. A call that fails leaves none behind.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint: str,
        api_key: str,
        model: str,
        pacer: CallPacer,
        retry: RetryPolicy | None = None,
        timeout: float = 300.0,
        blob_folder: Path | None = None,
    ) -> None:
        self._http = http
        self._blob_folder = blob_folder
        self._endpoint = endpoint
        self._api_key = api_key
        self._model = model
        self._pacer = pacer
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._redact = SecretRedactor([api_key]).redact

    async def generate(
        self,
        request: ImageRequest,
        *,
        on_attempt: Callable[[str], None] | None = None,
        requester: str = "",
    ) -> Generation:
        """Generate one image (or several, if the model returns more) for ``requester``.

        ``on_attempt`` is called with each attempt's logid as it starts.

        Raises:
            GenerationError: the subclass names the cause; see ``errors``.
        """
        started = time.monotonic()
        attempt = 0
        declined_once = False
        while True:
            attempt += 1
            logid = new_logid()
            try:
                async with self._pacer.slot(requester):
                    if on_attempt is not None:
                        on_attempt(logid)
                    answer = await self._call(request, logid)
            except Declined:
                if declined_once:
                    raise
                declined_once = True
                logger.info("no image in answer, retrying once asking for an image logid=%s", logid)
                request = replace(request, image_only=True)
                continue
            except GenerationError as exc:
                delay = self._retry.delay(attempt, exc)
                out_of_time = time.monotonic() + delay - started > self._retry.within
                if not exc.retryable or attempt >= self._retry.max_attempts or out_of_time:
                    raise
                logger.warning(
                    "gateway attempt %d failed (%s), retrying in %.1fs logid=%s",
                    attempt,
                    exc,
                    delay,
                    logid,
                )
                await asyncio.sleep(delay)
                continue
            return Generation(
                images=answer.images,
                text=answer.text,
                logid=logid,
                attempts=attempt,
                elapsed=time.monotonic() - started,
            )

    async def _call(self, request: ImageRequest, logid: str) -> Answer:
        reader = AnswerReader(blob_folder=self._blob_folder)
        try:
            answer = await self._read(request, logid, reader)
        except BaseException:  # cancelled too: a call given up leaves no file behind
            reader.discard()
            raise
        reader.discard(keep={image.path for image in answer.images if image.path})
        return answer

    async def _read(self, request: ImageRequest, logid: str, reader: AnswerReader) -> Answer:
        try:
            async with asyncio.timeout(self._timeout):
                await self._read_answer(request, logid, reader)
            return parse_read_answer(reader, logid=logid, redact=self._redact)
        except GenerationError:
            raise
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise GatewayTimeout("the gateway timed out", logid=logid) from exc
        except httpx.DecodingError as exc:
            raise MalformedAnswer("the gateway's answer did not decompress", logid=logid) from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                f"could not reach the gateway ({type(exc).__name__})", logid=logid
            ) from exc
        except Exception as exc:  # the answer is untrusted: whatever it breaks, it is broken
            # Not logger.exception: `generate` shows ERROR, and the user gets one line.
            logger.warning("unreadable gateway answer logid=%s", logid, exc_info=True)
            raise MalformedAnswer("the gateway's answer could not be read", logid=logid) from exc

    async def _read_answer(self, request: ImageRequest, logid: str, reader: AnswerReader) -> None:
        headers = {"Content-Type": "application/json", "X-TT-LOGID": logid}
        content = json.dumps(request.body(self._model), ensure_ascii=False).encode()
        async with self._http.stream(
            "POST",
            self._endpoint,
            params={"ak": self._api_key},
            headers=headers,
            content=content,
        ) as response:
            if response.status_code != 200:
                await raise_for_status(response, logid, self._redact)
            size = _body_size(response)
            if size is not None and size > MAX_ANSWER_BYTES:
                raise _too_large(logid)
            # Decoded as it arrives: the body is never held whole (see stream.py).
            reader.expected_size = size
            async for chunk in response.aiter_bytes():
                if reader.size + len(chunk) > MAX_ANSWER_BYTES:
                    raise _too_large(logid)
                reader.feed(chunk)


def _too_large(logid: str) -> AnswerTooLarge:
    return AnswerTooLarge(
        f"the gateway's answer is too large (over {MAX_ANSWER_BYTES // 2**20} MB)", logid=logid
    )


def _body_size(response: httpx.Response) -> int | None:
    """The decoded body's size, if the headers tell it (not when compressed)."""
    length = response.headers.get("content-length", "")
    if response.headers.get("content-encoding") or not (length.isascii() and length.isdigit()):
        return None
    return int(length)
