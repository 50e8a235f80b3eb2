"""``banana-bot``: serve (the Slack bot), generate (one-off), sandbox (local playground).

The only place that loads ``.env``.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

from bot.logs import setup_logging
from bot.settings import Settings, SettingsError

EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="banana-bot",
        description="A Slack bot that turns a sentence into a picture (nano-banana2).",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", metavar="{serve,generate,sandbox}")
    commands.add_parser("serve", help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set)")
    generate = commands.add_parser(
        "generate",
        help="generate images from the terminal",
        usage='banana-bot generate "prompt" [--ar W:H] [--size 1K|2K] [-n N] [-o DIR]',
        allow_abbrev=False,
    )
    generate.add_argument("-o", "--out", default=".", help="folder to write images into")
    commands.add_parser("sandbox", help="the local playground: the bot against stand-ins")
    return parser


def prompt_text(words: Sequence[str]) -> str:
    """Re-join shell words; a word the shell kept whole (it had spaces) stays quoted,
    so its dashes stay prompt text."""
    return " ".join(f'"{w}"' if any(c.isspace() for c in w) else w for w in words)


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(".env", override=False)  # the working folder's, not the package's
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "generate":
        parser.error(f"unrecognized arguments: {shlex.join(rest)}")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"banana-bot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    quiet = args.command == "generate"  # the terminal user wants one clear line
    redactor = setup_logging(
        settings.log_level or ("ERROR" if quiet else "INFO"),
        [
            settings.api_key,
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
        ],
        json_lines=settings.log_format == "json",
    )
    command = args.command
    if command is None:
        command = "serve" if settings.slack_configured else "sandbox"
        if command == "sandbox":
            print(
                "banana-bot: no Slack tokens configured (SLACK_BOT_TOKEN), "
                "so starting the local sandbox instead of the Slack bot.",
                file=sys.stderr,
            )
    if command == "generate":
        from bot.terminal import run_generate

        return asyncio.run(run_generate(settings, prompt_text(rest), args.out, redactor.redact))
    if command == "serve":
        from bot.server import run_serve

        return run_serve(settings)
    from bot.sandbox import run_sandbox

    return run_sandbox(settings)
