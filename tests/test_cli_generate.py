"""``banana-bot generate`` as a real process against the gateway stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bot.standins.gateway import GatewayStandIn
from tests.conftest import ROOT, TEST_KEY, clean_env, run_cli


def env_for(gateway: GatewayStandIn, **extra: str) -> dict[str, str]:
    return clean_env(
        BANANA_API_KEY=TEST_KEY,
        BANANA_API_URL=gateway.url,
        BANANA_MIN_INTERVAL="0",
        BANANA_BACKOFF="0.05",
        **extra,
    )


async def test_writes_images_and_prints_paths(gateway: GatewayStandIn, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = await run_cli(
        "generate",
        "一只可爱的柴犬 in a park",
        "--ar",
        "16:9",
        "--size",
        "2K",
        "-n",
        "2",
        "-o",
        str(out),
        env=env_for(gateway),
        cwd=tmp_path,
    )
    assert done.code == 0, done.stderr
    paths = [Path(line) for line in done.stdout.splitlines()]
    stem = "一只可爱的柴犬-in-a-park"
    assert [p.name for p in paths] == [f"{stem}.png", f"{stem}-2.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (2752, 1536)
    assert len(gateway.requests) == 2
    assert "logid nanobanana_" in done.stderr


async def test_jpeg_answers_get_the_jpg_extension(gateway: GatewayStandIn, tmp_path: Path) -> None:
    gateway.queue("jpeg")
    done = await run_cli("generate", "a cat", env=env_for(gateway), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert done.stdout.strip() == "a-cat.jpg"
    assert (tmp_path / "a-cat.jpg").exists()


async def test_a_quoted_prompt_keeps_its_dashes(gateway: GatewayStandIn, tmp_path: Path) -> None:
    done = await run_cli(
        "generate", "--ar is a flag", "--ar", "wide", env=env_for(gateway), cwd=tmp_path
    )
    assert done.code == 0, done.stderr
    assert gateway.requests[0].prompt == "--ar is a flag"
    assert gateway.requests[0].aspect_ratio == "16:9"


async def test_refusal_prints_the_models_words(gateway: GatewayStandIn, tmp_path: Path) -> None:
    gateway.default_mode = "text_only"
    done = await run_cli("generate", "a cat", env=env_for(gateway), cwd=tmp_path)
    assert done.code == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "I can't draw that, but I can describe it." in lines[0]
    assert done.stdout == ""


async def test_missing_key_says_what_to_set_and_sends_nothing(
    gateway: GatewayStandIn, tmp_path: Path
) -> None:
    env = env_for(gateway)
    del env["BANANA_API_KEY"]
    done = await run_cli("generate", "a cat", env=env, cwd=tmp_path)
    assert done.code == 1
    assert "set BANANA_API_KEY" in done.stderr
    assert gateway.requests == []


async def test_usage_errors_exit_2_and_send_nothing(
    gateway: GatewayStandIn, tmp_path: Path
) -> None:
    done = await run_cli("generate", "a cat", "--ar", "7:3", env=env_for(gateway), cwd=tmp_path)
    assert done.code == 2
    assert "`7:3` is not a ratio" in done.stderr
    assert "16:9" in done.stderr
    empty = await run_cli("generate", env=env_for(gateway), cwd=tmp_path)
    assert empty.code == 2
    assert "Say what to draw" in empty.stderr
    assert gateway.requests == []


async def test_invalid_setting_stops_start_up(gateway: GatewayStandIn, tmp_path: Path) -> None:
    done = await run_cli(
        "generate", "a cat", env=env_for(gateway, BANANA_NETWORK="foo"), cwd=tmp_path
    )
    assert done.code == 1
    assert done.stderr.strip() == (
        "banana-bot: BANANA_NETWORK must be one of production, office (got 'foo')"
    )


async def test_key_never_printed_at_debug(gateway: GatewayStandIn, tmp_path: Path) -> None:
    gateway.queue("rate_limit")
    gateway.retry_after = 0
    done = await run_cli("generate", "a cat", env=env_for(gateway, LOG_LEVEL="DEBUG"), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "HTTP Request: POST" in done.stderr
    assert TEST_KEY not in done.stdout + done.stderr


async def test_dotenv_is_read_from_the_working_folder(
    gateway: GatewayStandIn, tmp_path: Path
) -> None:
    env = env_for(gateway)
    del env["BANANA_API_KEY"]
    (tmp_path / ".env").write_text(f"BANANA_API_KEY={TEST_KEY}\n")
    done = await run_cli("generate", "a cat", env=env, cwd=tmp_path)
    assert done.code == 0, done.stderr


def test_root_has_the_required_files() -> None:
    for name in ("pyproject.toml", "Makefile", "README.md", ".env.example", ".ci/run"):
        assert (ROOT / name).exists(), name


async def test_a_link_planted_at_the_name_is_never_written_through(
    gateway: GatewayStandIn, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.png"
    (out / "a-cat.png").symlink_to(target)  # dangling: "does not exist" to a naive check
    done = await run_cli("generate", "a cat", "-o", str(out), env=env_for(gateway), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert not target.exists(), "the link was followed"
    assert done.stdout.strip() == str(out / "a-cat-2.png")
    assert (out / "a-cat.png").is_symlink()


async def test_a_windows_device_name_gets_a_suffix(gateway: GatewayStandIn, tmp_path: Path) -> None:
    done = await run_cli("generate", "CON", env=env_for(gateway), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert done.stdout.strip() == "con-image.png"


@pytest.mark.parametrize("mode", ["bad_gzip", "echo_url"])
async def test_a_hostile_answer_fails_in_one_line_without_the_key(
    gateway: GatewayStandIn, tmp_path: Path, mode: str
) -> None:
    gateway.default_mode = mode
    done = await run_cli("generate", "a cat", env=env_for(gateway), cwd=tmp_path)
    assert done.code == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("banana-bot generate: ")
    assert "Traceback" not in done.stderr
    assert TEST_KEY not in done.stdout + done.stderr


async def test_an_unwritable_folder_fails_in_one_line(
    gateway: GatewayStandIn, tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    done = await run_cli("generate", "a cat", "-o", "taken", env=env_for(gateway), cwd=tmp_path)
    assert done.code == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("banana-bot generate: could not write")


async def test_an_overlong_prompt_is_refused_before_any_call(
    gateway: GatewayStandIn, tmp_path: Path
) -> None:
    env = env_for(gateway, BANANA_MAX_PROMPT="100")
    done = await run_cli("generate", "a cat " * 30, env=env, cwd=tmp_path)
    assert done.code == 2
    assert "the limit is 100" in done.stderr
    assert gateway.requests == []


async def test_generate_speaks_the_terminals_language(
    gateway: GatewayStandIn, tmp_path: Path
) -> None:
    chinese = env_for(gateway, LANG="zh_CN.UTF-8")
    done = await run_cli("generate", "一只猫", "--ar", "宽平", env=chinese, cwd=tmp_path)
    assert done.code == 2
    assert done.stderr.startswith("banana-bot generate: `宽平` 不是宽高比；")
    assert done.stderr.rstrip().endswith("你是想写 `--ar 宽屏` 吗？")
    gateway.default_mode = "safety"
    refused = await run_cli("generate", "一只猫", "--ar", "宽屏", env=chinese, cwd=tmp_path)
    assert refused.code == 1
    assert "模型不肯画这个（图片触发了模型的安全过滤）" in refused.stderr
    assert gateway.requests[-1].aspect_ratio == "16:9"
    # LC_ALL wins over LANG; a language the bot does not speak gets BANANA_LANGUAGE.
    english = env_for(gateway, LANG="zh_CN.UTF-8", LC_ALL="en_US.UTF-8")
    done = await run_cli("generate", "a cat", "--ar", "7:3", env=english, cwd=tmp_path)
    assert "`7:3` is not a ratio" in done.stderr
    french = env_for(gateway, LANG="fr_FR.UTF-8", BANANA_LANGUAGE="zh-CN")
    done = await run_cli("generate", "a cat", "--ar", "7:3", env=french, cwd=tmp_path)
    assert "模型画不了 `7:3` 这个比例" in done.stderr
