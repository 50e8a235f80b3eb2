"""The sandbox's AI panel in Chromium: Slack's side panel for AI apps beside the
channel on screen — suggested prompts as chips, the live status, the title, the
channel as context, and "Share to #general" — driven through the real bot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.sandbox_harness import ConsoleErrors, chromium, needs_chromium, running_sandbox

pytestmark = needs_chromium
WAIT = 20_000  # ms: an offline preview takes 2 s; the machine may be busy


async def test_the_ai_panel_beside_the_channel(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async with running_sandbox(tmp_path) as sandbox, chromium() as browser:
        context = await browser.new_context(viewport={"width": 1366, "height": 800})
        page: Any = await context.new_page()
        errors = ConsoleErrors().watch(page)
        await page.goto(sandbox.url)
        await expect(page.locator("#source")).to_contain_text("offline preview")

        # Opened while #general is on screen: a greeting, four prompts, the context.
        await page.click("#panel-toggle")
        panel = page.locator("#panel")
        await expect(panel).to_have_class(re.compile(r"\bopen\b"))
        await expect(page.locator("#panel-context")).to_have_text("Viewing #general")
        await expect(page.locator("#panel-messages")).to_contain_text("I'm banana", timeout=WAIT)
        chips = page.locator("#panel-prompts .chip")
        await expect(chips).to_have_count(4)
        await expect(page.locator("#panel-prompts")).to_contain_text("用中文画一只柴犬")

        # A chip is a request: the live status while it draws, a title, the image.
        await chips.first.click()
        status = page.locator("#panel-status")
        await expect(status).to_contain_text(re.compile(r"^banana is "), timeout=WAIT)
        await expect(page.locator("#panel-title")).to_have_text(
            "a misty mountain lake at sunrise", timeout=WAIT
        )
        image = page.locator("#panel-messages .files img")
        await expect(image).to_be_visible(timeout=WAIT)
        await expect(status).to_have_text("", timeout=WAIT)
        await expect(chips).to_have_count(0)  # the prompts give way to the chat
        assert await image.evaluate("img => img.naturalWidth") == 2752  # 16:9 at 2K

        # Share to the channel on screen: it lands in #general, credited.
        await page.click("#panel-messages button:has-text('Share to #general')")
        shared = page.locator("#messages .message", has_text="Shared from banana")
        await expect(shared).to_have_count(1, timeout=WAIT)
        await expect(shared.locator(".files img")).to_be_visible()
        await expect(page.locator("#panel-messages .ephemeral")).to_contain_text("Shared to")

        # The Messages tab keeps its own conversation; the panel follows the view.
        await page.click("#conversations button[data-conversation='D0SANDBOX']")
        await expect(page.locator("#panel-context")).to_have_text("Not viewing a channel")
        await expect(page.locator("#messages")).not_to_contain_text("misty mountain")
        await page.click("#conversations button[data-conversation='C0GENERAL']")
        await expect(page.locator("#panel-context")).to_have_text("Viewing #general")

        # Typed in the panel: "make it night" edits the latest, as v2.
        await page.fill("#panel-input", "make it night")
        await page.press("#panel-input", "Enter")
        await expect(page.locator("#panel-messages")).to_contain_text("v2", timeout=WAIT)
        await expect(page.locator("#panel-messages .files img")).to_have_count(2, timeout=WAIT)
        await expect(status).to_have_text("", timeout=WAIT)
        await context.close()
        assert list(errors) == [], "console errors"


async def test_after_a_restart_the_panel_keeps_its_chat_and_still_answers(tmp_path: Path) -> None:
    """The last chat comes back in the panel (not in the Messages tab), and a new one
    is greeted: the sandbox's signed events must not reuse the last run's event ids,
    which the bot's journal remembers for days and would drop as retries."""
    from playwright.async_api import expect

    async with running_sandbox(tmp_path) as sandbox, chromium() as browser:
        page: Any = await browser.new_page()
        await page.goto(sandbox.url)
        await page.click("#panel-toggle")
        await page.locator("#panel-prompts .chip").first.click(timeout=WAIT)
        await expect(page.locator("#panel-messages .files img")).to_be_visible(timeout=WAIT)
    async with running_sandbox(tmp_path) as sandbox, chromium() as browser:
        page = await browser.new_page()
        await page.goto(sandbox.url + "#D0SANDBOX")
        await expect(page.locator("#title")).to_have_text("🍌 banana")
        await page.click("#panel-toggle")
        await expect(page.locator("#panel-messages .files img")).to_be_visible(timeout=WAIT)
        await expect(page.locator("#messages")).not_to_contain_text("misty mountain")
        await page.click("#panel-new")
        await expect(page.locator("#panel-prompts .chip")).to_have_count(4, timeout=WAIT)
