"""Imports go one way: Slack → jobs → generation, never back up; the job core
reaches neither Slack, nor the words, nor the settings, even through another
module; and inside bot.jobs no module needs one that needs it, not even for its
types under ``if TYPE_CHECKING:``, where a cycle hides until someone moves a line.

The contract lives in pyproject.toml (``[tool.importlinter]``), where import-linter
reads it; these tests run it, and import each module alone, as a process would.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import bot.jobs
from tests.conftest import ROOT


def test_bot_jobs_modules_import_one_way() -> None:
    # Its own process: import-linter configures logging, which would silence every
    # logger the later tests read.
    linter = Path(sys.executable).with_name("lint-imports")
    checked = subprocess.run(
        [linter, "--no-cache", "--no-logo", ROOT / "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr  # the imports closing a cycle


def test_every_bot_jobs_module_imports_alone_in_a_fresh_interpreter() -> None:
    modules = [info.name for info in pkgutil.walk_packages(bot.jobs.__path__, "bot.jobs.")]
    assert "bot.jobs.leases" in modules
    assert "bot.jobs.store.postgres" in modules
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in modules
    }
    failed = {}
    for name, process in running.items():
        output, _ = process.communicate(timeout=60)
        if process.returncode:
            failed[name] = output.strip().splitlines()[-1:]
    assert not failed
