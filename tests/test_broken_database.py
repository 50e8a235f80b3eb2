"""An unusable journal is one line naming BANANA_DB and what to do, exit code 1 —
and a disk that fills up while running fails the request, not the bot.

Read-only and full disks are real: a read-only bind mount and a tiny tmpfs, each
in a user+mount namespace of the bot's own (``unshare -r -m``), so no root is
needed; where the machine allows no namespaces those two cases are skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.jobs.journal import Journal
from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.conftest import Finished, clean_env, run_cli
from tests.harness import eventually, running_bot

SERVE_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "secret",
    "BANANA_API_KEY": "test-key",
    "SLACK_API_URL": "http://127.0.0.1:9/api/",  # never reached: the journal opens first
    "PORT": "0",
}


def namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-r", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt 2>/dev/null || exit 1"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


needs_namespaces = pytest.mark.skipif(
    not namespaces(), reason="no user+mount namespaces here (unshare -r -m)"
)


async def serve(tmp_path: Path, db: str, *wrapper: str) -> Finished:
    if not wrapper:
        return await run_cli("serve", env=clean_env(BANANA_DB=db, **SERVE_ENV), cwd=tmp_path)
    # The same command, started inside a namespace prepared by ``wrapper``'s script.
    import asyncio
    import sys

    process = await asyncio.create_subprocess_exec(
        *wrapper,
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=clean_env(BANANA_DB=db, **SERVE_ENV),
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())


def one_line(finished: Finished, db: str, *says: str) -> None:
    assert finished.code == 1
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith(f"banana-bot serve: BANANA_DB={db}")
    for words in says:
        assert words in lines[0]
    assert "Traceback" not in finished.stderr


async def test_a_folder_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    finished = await serve(tmp_path, "a-file/journal/banana.db")
    one_line(finished, "a-file/journal/banana.db", "cannot create", "point BANANA_DB elsewhere")


async def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("shopping list\n" * 300)
    finished = await serve(tmp_path, "notes.db")
    one_line(finished, "notes.db", "is not a SQLite database", "point BANANA_DB to a new file")


@needs_namespaces
async def test_a_journal_on_a_read_only_path(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    journal = await Journal.open(tmp_path / "ro" / "banana.db")  # a real, current journal
    await journal.close()
    read_only = ("unshare", "-r", "-m", "sh", "-c", 'mount --bind -o ro ro ro && exec "$@"', "-")
    finished = await serve(tmp_path, "ro/banana.db", *read_only)
    one_line(finished, "ro/banana.db", "Read-only file system", "writable")


@needs_namespaces
async def test_a_disk_that_fills_up_fails_the_request_and_the_bot_stays_up(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    (tmp_path / "small").mkdir()
    fill = tmp_path / "fill-now"
    # A 2 MB disk for the journal; once the test touches fill-now, it is filled up.
    script = (
        "mount -t tmpfs -o size=2m tmpfs small || exit 1; "
        f"(for _ in $(seq 600); do [ -e {fill} ] && break; sleep 0.1; done; "
        "cat /dev/zero > small/filler 2>/dev/null; touch filled) & "
        'exec "$@"'
    )
    wrapper = ("unshare", "-r", "-m", "sh", "-c", script, "-")
    async with running_bot(
        gateway,
        slack,
        tmp_path,
        wrapper=wrapper,
        BANANA_DB="small/banana.db",
        BANANA_SPOOL=str(tmp_path / "spool"),
    ) as bot:
        url = slack.response_url("before")
        await bot.sender.command(
            slash_command("a cat", user="U1", channel="C0GENERAL", response_url=url)
        )
        await eventually(lambda: [m for m in slack.visible() if m.files])
        fill.touch()
        await eventually(lambda: (tmp_path / "filled").exists())
        for n in range(2):
            url = slack.response_url(f"full{n}")
            fields = slash_command(f"a dog {n}", user="U1", channel="C0GENERAL", response_url=url)
            answer = await bot.sender.command(fields)
            assert answer.status == 200
            assert "cannot save requests right now" in answer.body
        assert bot.process.returncode is None
        logs = bot.logs()
    assert "BANANA_DB=small/banana.db cannot grow: its disk is full" in logs
    assert len(gateway.requests) == 1
