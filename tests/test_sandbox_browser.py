"""The sandbox in a real browser: Playwright driving Debian's Chromium."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, clean_env
from tests.harness import free_port

CHROMIUM = Path(os.environ.get("BANANA_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"BROWSER TEST NOT RUN: no Chromium at {CHROMIUM} (apt-get install chromium; "
    ".ci/run installs it)",
)


@pytest.fixture
async def sandbox_url(tmp_path: Path) -> AsyncIterator[str]:
    """``banana-bot sandbox`` as a real process, without any Slack token or gateway key."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        env=clean_env(PORT=str(port), BANANA_MIN_INTERVAL="0"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    banner = ""
    async with asyncio.timeout(30):
        while "Ctrl-C" not in banner:
            line = (await process.stdout.readline()).decode()
            assert line, f"sandbox exited:\n{banner}"
            banner += line
    assert "offline preview" in banner
    url = f"http://127.0.0.1:{port}/"
    assert url in banner
    yield url
    process.terminate()
    await asyncio.wait_for(process.wait(), 20)


async def test_slash_command_and_mention_in_the_browser(sandbox_url: str) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        page = await browser.new_page(viewport={"width": 1366, "height": 800})
        await page.goto(sandbox_url)
        await expect(page.locator("#source")).to_contain_text("offline preview")

        await page.fill("#input", "/banana a shiba inu in a park --ar 16:9")
        await page.press("#input", "Enter")
        ephemeral = page.locator("#messages .ephemeral")
        await expect(ephemeral).to_contain_text("Only visible to you")
        await expect(ephemeral).to_contain_text("Generating")
        # Offline previews cost nothing, and the bot says so rather than a price.
        await expect(ephemeral).to_contain_text("(free preview; 1 image of your 50 today")
        await expect(ephemeral).not_to_contain_text("$")
        image = page.locator("#messages .files img").first
        await expect(image).to_be_visible(timeout=20_000)
        await expect(page.locator("#messages")).to_contain_text("asked for: a shiba inu in a park")
        size = await image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size == [1376, 768]

        await page.fill("#input", "@banana a cat in a hat --ar 3:4")
        await page.press("#input", "Enter")
        replies = page.locator("#messages .replies")
        await expect(replies).to_have_count(1, timeout=20_000)
        reactions = page.locator("#messages .reactions").last
        await expect(reactions).to_contain_text("✅", timeout=20_000)
        await replies.click()  # the status reply first, then the result
        thread_image = page.locator("#thread-messages .files img")
        await expect(thread_image).to_be_visible(timeout=20_000)
        assert await thread_image.evaluate("img => img.naturalWidth") == 896
        out = ROOT / "out"
        out.mkdir(exist_ok=True)
        await page.screenshot(path=str(out / "sandbox.png"))

        await thread_image.click()
        await expect(page.locator("#lightbox")).to_have_class("open")
        await page.locator("#lightbox").click()

        # The result card's buttons work: re-roll, then edit the prompt in the modal.
        await page.locator("#thread-messages .block-button", has_text="Re-roll").click()
        await expect(page.locator("#thread-messages .files img")).to_have_count(2, timeout=20_000)
        await page.locator("#thread-messages .block-button", has_text="Edit prompt").first.click()
        await expect(page.locator("#modal")).to_have_class("open")
        await expect(page.locator("#modal-input")).to_have_value(
            "a cat in a hat --ar 3:4 --size 1K"
        )
        await page.fill("#modal-input", "a dog in a hat --ar 7:3")
        await page.click("#modal-submit")
        await expect(page.locator("#modal-error")).to_contain_text("is not a ratio")
        await page.fill("#modal-input", "a dog in a hat --ar 3:4")
        await page.click("#modal-submit")
        await expect(page.locator("#modal")).not_to_have_class("open")
        await expect(page.locator("#thread-messages .files img")).to_have_count(3, timeout=20_000)
        await expect(page.locator("#thread-messages")).to_contain_text("a dog in a hat")
        await page.screenshot(path=str(out / "sandbox-buttons.png"))

        await page.click("[data-conversation=D0SANDBOX]")
        await page.fill("#input", "一只柴犬 --ar 9:16")
        await page.press("#input", "Enter")
        await page.locator("#messages .replies").click(timeout=20_000)
        await expect(page.locator("#thread-messages .files img")).to_be_visible(timeout=20_000)

        await page.click("#home-tab")  # the App Home tab, drawn by the bot
        home = page.locator("#messages .home")
        await expect(home).to_contain_text("Your last generations", timeout=20_000)
        await expect(home).to_contain_text("一只柴犬")
        await expect(home).to_contain_text("a shiba inu in a park")
        await expect(home).to_contain_text("free offline previews")
        await expect(home).not_to_contain_text("$")
        await page.screenshot(path=str(out / "sandbox-home.png"))
        await home.locator("a.permalink").last.click()  # the oldest: the shiba in #general
        await expect(page.locator("#title")).to_have_text("# general")
        await expect(page.locator("#messages .message.highlight")).to_contain_text("shiba")
        await browser.close()


async def test_the_whole_flow_in_chinese_in_the_browser(sandbox_url: str) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        page = await browser.new_page(viewport={"width": 1366, "height": 800})
        await page.goto(sandbox_url)
        await page.select_option("#language", "zh")
        messages = page.locator("#messages")
        await expect(messages).to_contain_text("好的，以后我用中文回复你", timeout=20_000)
        await page.fill("#input", "/banana help")
        await page.press("#input", "Enter")
        await expect(messages).to_contain_text("比例也可以写名称", timeout=20_000)
        await page.fill("#input", "/banana 公园里的柴犬 --ar 宽屏")
        await page.press("#input", "Enter")
        await expect(messages).to_contain_text("正在生成", timeout=20_000)
        await expect(page.locator("#messages .files img")).to_be_visible(timeout=20_000)
        await expect(messages).to_contain_text("想画 公园里的柴犬")
        await page.locator("#messages .block-button", has_text="修改提示词").first.click()
        await expect(page.locator("#modal-title")).to_have_text("修改提示词")
        await expect(page.locator("#modal-cancel")).to_have_text("取消")
        await page.fill("#modal-input", "公园里的柴犬 --ar 7:3")
        await page.click("#modal-submit")
        await expect(page.locator("#modal-error")).to_contain_text("模型画不了 7:3 这个比例")
        await page.click("#modal-cancel")
        await expect(page.locator("#modal")).not_to_have_class("open")
        out = ROOT / "out"
        out.mkdir(exist_ok=True)
        await page.screenshot(path=str(out / "sandbox-zh.png"))
        await page.click("#home-tab")
        home = page.locator("#messages .home")
        await expect(home).to_contain_text("一句话变成一张图", timeout=20_000)
        await expect(home).to_contain_text("你最近画的图")
        await page.screenshot(path=str(out / "sandbox-zh-home.png"))
        await page.select_option("#language", "en")
        await page.click("[data-conversation=C0GENERAL]")
        await expect(messages).to_contain_text("from now on I'll answer you in English")
        await page.click("#home-tab")
        await expect(home).to_contain_text("Turn a sentence into a picture", timeout=20_000)
        await browser.close()
