"""``banana-bot generate``: one-off generation from the terminal."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from bot.generation import Generation, GenerationClient, GenerationError, ImageRequest
from bot.generation.factory import open_generation_client
from bot.generation.images import file_stem
from bot.options import ParsedRequest, UsageError, parse_request
from bot.settings import Settings, SettingsError
from bot.text.failures import cli_failure_text

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _free_path(folder: Path, stem: str, extension: str) -> Path:
    path = folder / f"{stem}.{extension}"
    counter = 2
    while path.exists():
        path = folder / f"{stem}-{counter}.{extension}"
        counter += 1
    return path


class _Progress:
    """Elapsed time and the current logid on one terminal line (only on a terminal)."""

    def __init__(self, count: int) -> None:
        self.enabled = sys.stderr.isatty()
        self.count = count
        self.done = 0
        self.logid = ""
        self.started = time.monotonic()

    def attempt(self, logid: str) -> None:
        self.logid = logid

    async def run(self) -> None:
        while self.enabled:
            elapsed = time.monotonic() - self.started
            line = f"generating {self.done}/{self.count} · {elapsed:4.0f}s · logid {self.logid}"
            sys.stderr.write("\r" + line)
            sys.stderr.flush()
            await asyncio.sleep(0.5)

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


async def run_generate(settings: Settings, text: str, out: str) -> int:
    try:
        parsed = parse_request(text, max_images=settings.max_images)
    except UsageError as exc:
        print(f"banana-bot generate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        async with open_generation_client(settings) as client:
            return await _generate(client, parsed, Path(out))
    except SettingsError as exc:
        print(f"banana-bot generate: {exc}", file=sys.stderr)
        return EXIT_FAILURE


async def _generate(client: GenerationClient, parsed: ParsedRequest, folder: Path) -> int:
    options = parsed.options
    request = ImageRequest(parsed.prompt, options.aspect_ratio, options.size)
    progress = _Progress(options.count)
    ticker = asyncio.create_task(progress.run())

    async def one() -> Generation:
        generation = await client.generate(request, on_attempt=progress.attempt)
        progress.done += 1
        return generation

    results = await asyncio.gather(*(one() for _ in range(options.count)), return_exceptions=True)
    ticker.cancel()
    progress.clear()

    return await asyncio.to_thread(_save, results, folder, file_stem(parsed.prompt))


def _save(results: list[Generation | BaseException], folder: Path, stem: str) -> int:
    """Write each image, print its path; report each failure on one line."""
    folder.mkdir(parents=True, exist_ok=True)
    failures: list[GenerationError] = []
    for result in results:
        if isinstance(result, GenerationError):
            failures.append(result)
            continue
        if isinstance(result, BaseException):
            raise result
        for image in result.images:
            path = _free_path(folder, stem, image.extension)
            path.write_bytes(image.data)
            print(path)
            print(
                f"  {image.width}x{image.height} {image.mime_type} · "
                f"{result.elapsed:.0f}s · logid {result.logid}",
                file=sys.stderr,
            )
    for failure in failures:
        logid = f" (logid {failure.logid})" if failure.logid else ""
        print(f"banana-bot generate: {cli_failure_text(failure)}{logid}", file=sys.stderr)
    return EXIT_FAILURE if failures else EXIT_OK
