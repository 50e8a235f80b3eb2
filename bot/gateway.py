"""The configured gateway client: the settings made into a GenerationClient with one
shared HTTP client. Here, not in bot/generation, which knows nothing of settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bot.generation.client import GenerationClient, RetryPolicy
from bot.generation.pacing import CallPacer, Pacer
from bot.settings import Settings


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
    # Each read is bounded too, but the whole call's deadline is the client's.
    timeout = httpx.Timeout(settings.call_timeout, connect=settings.connect_timeout)
    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=4)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
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
