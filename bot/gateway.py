"""The configured gateway client: the settings made into a GenerationClient with one
shared HTTP client. Here, not in bot/generation, which knows nothing of settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.lowlevel
import httpcore
import httpx
from PIL import Image

from bot.generation.client import GenerationClient, RetryPolicy
from bot.generation.pacing import CallPacer, Pacer
from bot.settings import Settings

# How much of an answer httpx asks for at a time. httpcore reads 64 KiB, so a 2K
# image's 10–17 MB answer takes ~260 trips through httpcore, h11 and anyio — the
# bot's largest CPU cost in a burst. Asking for 1 MiB lets each read take what the
# socket holds (asyncio hands over up to 256 KiB): 0.067 → 0.055 s of CPU per 2K
# image in the benchmark's burst. httpcore has no per-client knob for it (its
# READ_NUM_BYTES is a class attribute, raised from 4 KiB for this same reason in
# encode/httpcore#135); only the gateway client uses httpx in this process.
ANSWER_READ_BYTES = 1024 * 1024


@asynccontextmanager
async def open_generation_client(
    settings: Settings, pacer: CallPacer | None = None, blob_folder: Path | None = None
) -> AsyncIterator[GenerationClient]:
    """A client for the configured gateway; its HTTP client is closed on exit. Its
    calls are paced by ``pacer``, else within this process by the settings; it
    decodes images into files in ``blob_folder``, else in memory.

    Raises:
        SettingsError: ``BANANA_API_KEY`` is not set (nothing is sent).
    """
    api_key = settings.require_api_key()
    httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = ANSWER_READ_BYTES
    # One deadline bounds the whole call, the GenerationClient's (BANANA_TIMEOUT);
    # httpx's own per-read one as well would arm and cancel a timer for every read
    # of the answer (~64 for a 2K image: 1.2 ms of CPU a call). Connecting keeps
    # its shorter bound.
    timeout = httpx.Timeout(None, connect=settings.connect_timeout)
    # Every connection a call in flight used is kept for the next call: keeping
    # fewer made a burst open a new one (TCP, and in production TLS) per call.
    limits = httpx.Limits(
        max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
    )
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        await _ready_for_the_first_call()
        yield GenerationClient(
            http,
            endpoint=settings.endpoint,
            api_key=api_key,
            model=settings.model,
            pacer=pacer or Pacer(settings.concurrency, settings.min_interval),
            retry=RetryPolicy(
                max_attempts=settings.max_attempts,
                within=settings.retry_within,
                backoff=settings.backoff,
            ),
            timeout=settings.call_timeout,
            blob_folder=blob_folder,
        )


async def _ready_for_the_first_call() -> None:
    """Import now what the first call would import on its way — anyio's asyncio
    backend (httpcore's first lock loads it) and Pillow's readers of the common
    formats (the first image identified loads them): ~25 ms the first image paid."""
    await anyio.lowlevel.checkpoint()
    Image.preinit()
