"""`make run` for someone who only wants to try the bot: quick and quiet."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.sandbox_harness import running_sandbox


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_installs_the_runtime_dependencies_only(tmp_path: Path) -> None:
    # -n: what make would do in a fresh clone (a venv that does not exist yet).
    planned = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", "run"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "[dev]" not in planned, "dev tools belong to `make test`"
    assert " -e " not in planned, "no editable build (and its warning block)"
    assert "requirements-run.txt" in planned


async def test_the_sandbox_says_where_it_is_last_and_nothing_more(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        lines = sandbox.banner.strip().splitlines()
        assert lines[-1].strip() == f"open {sandbox.url}"
        assert len(lines) <= 4
        await asyncio.sleep(1.5)  # the bot's start-up log would come now
        assert sandbox.output == []
    assert not [line for line in sandbox.output if " INFO " in line]
