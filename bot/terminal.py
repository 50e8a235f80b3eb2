"""``banana-bot generate``: one-off generation from the terminal.

Writes only new files, and says every failure in one line, scrubbed of secrets.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.gateway import open_generation_client
from bot.generation import Generation, GenerationClient, GenerationError, ImageRequest
from bot.generation.images import ImageBytes, file_stem
from bot.options import ParsedRequest, UsageError, parse_request
from bot.settings import Settings, SettingsError
from bot.text import say, speaking
from bot.text.failures import cli_failure_text
from bot.text.options import usage_words

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

Redact = Callable[[str], str]


def _write_new(folder: Path, stem: str, extension: str, data: ImageBytes) -> Path:
    """Write ``data`` to a file that did not exist: ``stem.ext``, else ``stem-2.ext``, …

    Exclusive creation never overwrites, and never follows a link planted at the name.
    """
    counter = 1
    while True:
        suffix = f"-{counter}" if counter > 1 else ""
        path = folder / f"{stem}{suffix}.{extension}"
        try:
            with open(path, "xb") as file:
                file.write(data)
            return path
        except FileExistsError:
            counter += 1


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
            line = say(
                "cli.progress",
                done=self.done,
                total=self.count,
                elapsed=f"{elapsed:4.0f}",
                logid=self.logid,
            )
            sys.stderr.write("\r" + line)
            sys.stderr.flush()
            await asyncio.sleep(0.5)

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


async def run_generate(settings: Settings, text: str, out: str, redact: Redact = str) -> int:
    """Generate, write and print, in the terminal's language (LC_ALL/LANG, else
    BANANA_LANGUAGE); ``redact`` scrubs secrets from every line it says."""
    with speaking(settings.terminal_language or settings.language):
        return await _run_generate(settings, text, out, redact)


async def _run_generate(settings: Settings, text: str, out: str, redact: Redact) -> int:

    def fail(message: object) -> None:
        print(redact(f"banana-bot generate: {message}"), file=sys.stderr)

    try:
        parsed = parse_request(text, max_images=settings.max_images, max_prompt=settings.max_prompt)
    except UsageError as exc:
        fail(usage_words(exc))
        return EXIT_USAGE
    try:
        async with open_generation_client(settings) as client:
            results = await _generate(client, parsed)
    except SettingsError as exc:
        fail(exc)
        return EXIT_FAILURE
    try:
        return await asyncio.to_thread(_save, results, Path(out), file_stem(parsed.prompt), fail)
    except OSError as exc:
        fail(say("cli.could_not_write", folder=out, reason=exc.strerror or type(exc).__name__))
        return EXIT_FAILURE


async def _generate(
    client: GenerationClient, parsed: ParsedRequest
) -> list[Generation | BaseException]:
    options = parsed.options
    request = ImageRequest(parsed.prompt, options.aspect_ratio, options.size)
    progress = _Progress(options.count)
    ticker = asyncio.create_task(progress.run())

    async def one() -> Generation:
        generation = await client.generate(request, on_attempt=progress.attempt)
        progress.done += 1
        return generation

    try:
        return await asyncio.gather(*(one() for _ in range(options.count)), return_exceptions=True)
    finally:
        ticker.cancel()
        progress.clear()


def _save(
    results: list[Generation | BaseException],
    folder: Path,
    stem: str,
    fail: Callable[[object], None],
) -> int:
    """Write each image, print its path; report each failure on one line.

    Raises:
        OSError: the folder cannot be made or written into.
    """
    failures: list[GenerationError] = []
    for result in results:
        if isinstance(result, GenerationError):
            failures.append(result)
            continue
        if isinstance(result, BaseException):
            raise result
        folder.mkdir(parents=True, exist_ok=True)
        for image in result.images:
            print(_write_new(folder, stem, image.extension, image.read()))
            print(
                f"  {image.width}x{image.height} {image.mime_type} · "
                f"{result.elapsed:.0f}s · logid {result.logid}",
                file=sys.stderr,
            )
    for failure in failures:
        logid = f" (logid {failure.logid})" if failure.logid else ""
        fail(f"{cli_failure_text(failure)}{logid}")
    return EXIT_FAILURE if failures else EXIT_OK
