"""The journal's database, seen from the real process: which store, and who may use it."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bot.standins.gateway import GatewayStandIn
from bot.standins.slack import SlackStandIn
from bot.standins.slack_sender import slash_command
from tests.conftest import run_cli
from tests.harness import bot_env, eventually, free_port, running_bot

USER = "U0ALICE"
CHANNEL = "C0GENERAL"


def command(slack: SlackStandIn, text: str) -> dict[str, str]:
    return slash_command(text, user=USER, channel=CHANNEL, response_url=slack.response_url("r"))


async def test_a_second_process_on_one_sqlite_journal_stops_with_one_line(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    async with running_bot(gateway, slack, tmp_path) as first:
        env = bot_env(gateway, slack, free_port())
        second = await run_cli("serve", env=env, cwd=tmp_path)
        assert second.code == 1
        (line,) = second.stderr.strip().splitlines()
        assert line.startswith(
            f"banana-bot serve: another banana-bot process (pid {first.process.pid}) is using"
            " the SQLite journal BANANA_DB=data/banana.db"
        )
        assert "set BANANA_DB=postgresql://" in line
        # The first one never noticed.
        await first.sender.command(command(slack, "a lighthouse that stays lit"))
        await eventually(lambda: [m for m in slack.visible() if m.files])


def sqlite_files(root: Path) -> list[Path]:
    return list(root.rglob("*.db"))


async def test_serve_on_postgresql_journals_there(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    gateway.latency = 0
    async with running_bot(gateway, slack, tmp_path, BANANA_DB=postgres_url) as bot:
        await bot.sender.command(command(slack, "a cat kept in postgres"))
        await eventually(lambda: "state=delivered" in bot.logs())
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT prompt, state, images FROM jobs").fetchall()
    assert rows == [("a cat kept in postgres", "delivered", 1)]
    assert not sqlite_files(tmp_path), "no SQLite file on the side"
    spool = tmp_path / "data" / "spool"
    assert not [f for f in spool.rglob("*") if f.is_file() and f.suffix != ".lock"], "emptied"


async def test_an_unreachable_postgresql_stops_start_up_with_one_line(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    url = f"postgresql://bot:pw-secret-7@127.0.0.1:{free_port()}/banana"
    done = await run_cli(
        "serve", env=bot_env(gateway, slack, free_port(), BANANA_DB=url), cwd=tmp_path
    )
    assert done.code == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(
        "banana-bot serve: cannot reach the PostgreSQL database at "
        "BANANA_DB=postgresql://bot:***@127.0.0.1:"
    )
    assert "pw-secret-7" not in done.stderr + done.stdout
