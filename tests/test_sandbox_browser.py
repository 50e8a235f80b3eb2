"""The sandbox in a real browser: Playwright driving Debian's Chromium.

One sandbox process and one browser serve the tests of this module (each
test opens its own page); the restart test runs a sandbox of its own. Every
page fails its test if it logs a console error or throws.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import ROOT
from tests.harness import free_port
from tests.sandbox_harness import (
    ConsoleErrors,
    RunningSandbox,
    chromium,
    needs_chromium,
    running_sandbox,
)

pytestmark = [needs_chromium, pytest.mark.asyncio(loop_scope="module")]
WAIT = 20_000  # ms: an offline preview takes 2 s; the machine may be busy
OUT = ROOT / "out"
LINK_BLUE = "rgb(18, 100, 163)"  # Slack's link colour


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSandbox]:
    folder = tmp_path_factory.mktemp("sandbox-browser")
    async with running_sandbox(folder, BANANA_MAX_QUEUED_PER_USER="10") as running:
        assert "offline preview" in running.banner
        assert running.banner.rstrip().splitlines()[-1].endswith(running.url), "URL last"
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def open_page(browser: Any, url: str, width: int = 1366, height: int = 800) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.console_errors = ConsoleErrors().watch(page)
    await page.goto(url)
    return page


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, sandbox: RunningSandbox) -> AsyncIterator[Any]:
    opened = await open_page(browser, sandbox.url)
    yield opened
    errors = list(opened.console_errors)
    await opened.context.close()
    assert errors == [], "console errors"


async def say(page: Any, text: str, box: str = "#input") -> None:
    await page.fill(box, text)
    await page.press(box, "Enter")


async def loaded(page: Any, selector: str) -> None:
    """Every image matching ``selector`` has arrived and decoded."""
    await page.wait_for_function(
        "s => { const all = [...document.querySelectorAll(s)];"
        " return all.length && all.every(i => i.complete && i.naturalWidth > 0); }",
        arg=selector,
        timeout=WAIT,
    )


async def fully_inside(inner: Any, outer: Any) -> bool:
    a, b = await inner.bounding_box(), await outer.bounding_box()
    return bool(
        a
        and b
        and a["x"] >= b["x"] - 1
        and a["y"] >= b["y"] - 1
        and a["x"] + a["width"] <= b["x"] + b["width"] + 1
        and a["y"] + a["height"] <= b["y"] + b["height"] + 1
    )


async def test_a_whole_session_in_the_browser(page: Any) -> None:
    """Command, mention, buttons, modal, DM, Home: all of it, without a console error."""
    from playwright.async_api import expect

    OUT.mkdir(exist_ok=True)
    await expect(page.locator("#source")).to_contain_text("offline preview")
    await say(page, "/banana a shiba inu in a park --ar 16:9")
    ephemeral = page.locator("#messages .ephemeral")
    await expect(ephemeral).to_contain_text("Only visible to you")
    await expect(ephemeral).to_contain_text("Generating")
    # Offline previews cost nothing, and the bot says so rather than a price.
    await expect(ephemeral).to_contain_text("(free preview; 1 image of your 50 today")
    await expect(ephemeral).not_to_contain_text("$")
    image = page.locator("#messages .files img").first
    await expect(image).to_be_visible(timeout=WAIT)
    await expect(page.locator("#messages")).to_contain_text("asked for: a shiba inu in a park")
    assert await image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1376, 768]
    caption = page.locator("#messages .preview-caption").first
    await expect(caption).to_have_text("take 1a shiba inu in a park")

    # A mention: the answer's thread opens by itself, as Slack's notification would.
    await say(page, "@banana a cat in a hat --ar 3:4")
    thread_image = page.locator("#thread-messages .files img")
    await expect(page.locator("#thread")).to_have_class(re.compile(r"\bopen\b"), timeout=WAIT)
    await expect(thread_image).to_be_visible(timeout=WAIT)
    assert await thread_image.evaluate("img => img.naturalWidth") == 896
    await expect(page.locator("#messages .replies")).to_have_count(1)
    await expect(page.locator("#messages .reactions").last).to_contain_text("✅", timeout=WAIT)
    await page.screenshot(path=str(OUT / "sandbox.png"))

    await thread_image.click()
    await expect(page.locator("#lightbox")).to_have_class("open")
    await expect(page.locator("#lightbox figcaption")).to_have_text("a cat in a hat")
    await page.locator("#lightbox").click()

    # The result card's buttons: re-roll (a new take), then edit the prompt in the modal.
    await page.locator("#thread-messages .block-button", has_text="Re-roll").click()
    await expect(thread_image).to_have_count(2, timeout=WAIT)
    await expect(page.locator("#thread-messages .preview-caption .take").last).to_have_text(
        "take 2"
    )
    await page.locator("#thread-messages .block-button", has_text="Edit prompt").first.click()
    await expect(page.locator("#modal")).to_have_class("open")
    await expect(page.locator("#modal-input")).to_have_value("a cat in a hat --ar 3:4 --size 1K")
    await page.fill("#modal-input", "a dog in a hat --ar 7:3")
    await page.click("#modal-submit")
    await expect(page.locator("#modal-error")).to_contain_text("is not a ratio")
    await page.fill("#modal-input", "a dog in a hat --ar 3:4")
    await page.click("#modal-submit")
    await expect(page.locator("#modal")).not_to_have_class("open")
    await expect(thread_image).to_have_count(3, timeout=WAIT)
    await expect(page.locator("#thread-messages")).to_contain_text("a dog in a hat")
    await page.screenshot(path=str(OUT / "sandbox-buttons.png"))

    # A DM in Chinese with an emoji: the page draws the prompt, with the viewer's fonts.
    await page.click("[data-conversation=D0SANDBOX]")
    await say(page, "一只柴犬 🐕 --ar 9:16")
    await expect(page.locator("#thread")).to_have_class(re.compile(r"\bopen\b"), timeout=WAIT)
    await expect(page.locator("#thread-messages .preview-caption")).to_contain_text(
        "一只柴犬 🐕", timeout=WAIT
    )
    await expect(page.locator("#messages .replies")).to_have_count(1)

    await page.click("#home-tab")  # the App Home tab, drawn by the bot
    home = page.locator("#messages .home")
    await expect(home).to_contain_text("Your last generations", timeout=WAIT)
    await expect(home).to_contain_text("一只柴犬")
    await expect(home).to_contain_text("a shiba inu in a park")
    await expect(home).to_contain_text("free offline previews")
    await expect(home).not_to_contain_text("$")
    await page.screenshot(path=str(OUT / "sandbox-home.png"))
    await home.locator("a.permalink").last.click()  # the oldest: the shiba in #general
    await expect(page.locator("#title")).to_have_text("# general")
    await expect(page.locator("#messages .message.highlight")).to_contain_text("shiba")
    assert list(page.console_errors) == []


async def test_an_answer_in_a_thread_opens_that_thread(page: Any) -> None:
    """A mention, a DM and the message shortcut: their answers open the thread."""
    from playwright.async_api import expect

    thread = page.locator("#thread")
    opened = re.compile(r"\bopen\b")
    await say(page, "@banana a red balloon")
    await expect(thread).to_have_class(opened, timeout=WAIT)
    await expect(page.locator("#thread-messages")).to_contain_text("a red balloon")
    await expect(page.locator("#messages .replies").last).to_be_visible()  # the link stays
    await page.click("#close-thread")
    await expect(thread).not_to_have_class(opened)

    await say(page, "/banana a green kite")
    kite = page.locator("#messages .message", has_text="asked for: a green kite")
    await kite.locator(".shortcut").click(timeout=WAIT)  # ✏️ Edit with banana
    await expect(page.locator("#modal")).to_have_class("open")
    await page.fill("#modal-input", "make it night")
    await page.click("#modal-submit")
    await expect(thread).to_have_class(opened, timeout=WAIT)
    assert await thread.get_attribute("data-root") == await kite.get_attribute("data-ts")

    await page.click("[data-conversation=D0SANDBOX]")
    await expect(thread).not_to_have_class(opened)
    await say(page, "a blue whale")
    await expect(thread).to_have_class(opened, timeout=WAIT)
    await expect(page.locator("#thread-messages")).to_contain_text("a blue whale")


async def test_results_land_in_view_after_their_image_loads(browser: Any, sandbox: Any) -> None:
    from playwright.async_api import expect

    page = await open_page(browser, sandbox.url, 1100, 620)
    for _ in range(2):  # enough text to scroll
        await say(page, "/banana help")
    await expect(page.locator("#messages .ephemeral").last).to_contain_text("--ar", timeout=WAIT)
    await say(page, "/banana a lighthouse in the fog --ar 9:16")
    newest = page.locator("#messages .files img").last
    await expect(newest).to_have_attribute("alt", re.compile("lighthouse"), timeout=WAIT)
    await loaded(page, "#messages .files img")
    await page.wait_for_timeout(300)  # any late layout or scroll
    assert await fully_inside(newest, page.locator("#messages")), "the new image is in view"

    await page.reload()  # the same after a reload: the newest image shows whole
    await loaded(page, "#messages .files img")
    await page.wait_for_timeout(300)
    newest = page.locator("#messages .files img").last
    assert await fully_inside(newest, page.locator("#messages"))
    assert list(page.console_errors) == []
    await page.context.close()


async def test_previews_tell_takes_apart_and_show_every_prompt(page: Any) -> None:
    from playwright.async_api import expect

    await say(page, "/banana a paper crane on a desk --n 3")
    images = page.locator("#messages .message", has_text="a paper crane").locator(".files img")
    await expect(images).to_have_count(3, timeout=WAIT)
    await loaded(page, "#messages .files img")
    digests = await images.evaluate_all(
        """imgs => Promise.all(imgs.map(async i => {
             const bytes = await (await fetch(i.src)).arrayBuffer();
             const digest = await crypto.subtle.digest("SHA-256", bytes);
             return [...new Uint8Array(digest)].map(b => b.toString(16)).join("");
           }))"""
    )
    assert len(set(digests)) == 3, "each image of --n 3 is its own take"
    captions = page.locator("#messages .message", has_text="a paper crane").locator(
        ".preview-caption"
    )
    assert sorted(await captions.all_inner_texts()) == [
        f"take {n}a paper crane on a desk" for n in (1, 2, 3)
    ]

    # A long prompt wraps inside the thread panel; nothing spills out of it.
    long_prompt = "an extraordinarily-long-unbroken-" * 12 + " and then some words " * 10
    await page.click("[data-conversation=D0SANDBOX]")
    await say(page, long_prompt)
    caption = page.locator("#thread-messages .preview-caption").last
    await expect(caption).to_contain_text("an extraordinarily-long", timeout=WAIT)
    assert await fully_inside(caption, page.locator("#thread"))
    assert await caption.evaluate("c => c.scrollWidth <= c.clientWidth")
    for image in await page.locator("#thread-messages .files img").all():
        assert await fully_inside(image, page.locator("#thread")), "thread images stay inside"


async def test_narrow_windows(browser: Any, sandbox: Any) -> None:
    from playwright.async_api import expect

    page = await open_page(browser, sandbox.url, 700, 800)
    await expect(page.locator("nav")).to_be_hidden()
    await page.click("#menu")
    await expect(page.locator("nav")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("nav")).to_be_hidden()
    await page.click("#menu")
    await page.click("[data-conversation=D0SANDBOX]")
    await expect(page.locator("nav")).to_be_hidden()
    await expect(page.locator("#title")).to_have_text("🍌 banana")

    await say(page, "a narrow little boat --ar 21:9")
    thread = page.locator("#thread")
    await expect(thread).to_have_class(re.compile(r"\bopen\b"), timeout=WAIT)
    await expect(page.locator("#thread-messages .files img")).to_have_count(1, timeout=WAIT)
    box = await thread.bounding_box()
    assert box is not None
    assert (box["x"], box["width"]) == (0, 700), "a thread takes the whole width"
    await loaded(page, "#thread-messages .files img")
    for image in await page.locator("#thread-messages .files img").all():
        assert await fully_inside(image, thread)
    OUT.mkdir(exist_ok=True)
    await page.screenshot(path=str(OUT / "sandbox-narrow.png"))
    assert list(page.console_errors) == []
    await page.context.close()


async def test_keyboard_as_in_slack(page: Any) -> None:
    from playwright.async_api import expect

    assert await page.evaluate("document.activeElement.id") == "input", "focused on load"
    await page.type("#input", "first line")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("second line")
    assert await page.input_value("#input") == "first line\nsecond line"
    await page.fill("#input", "")

    await page.keyboard.type("/banana a kite over the sea")
    await page.keyboard.press("Enter")
    assert await page.input_value("#input") == ""
    await page.keyboard.press("ArrowUp")
    assert await page.input_value("#input") == "/banana a kite over the sea"
    await page.fill("#input", "")

    kite = page.locator("#messages .message", has_text="a kite over the sea").locator("img")
    await expect(kite).to_have_count(1, timeout=WAIT)
    await kite.click()
    await expect(page.locator("#lightbox")).to_have_class("open")
    await page.keyboard.press("Escape")
    await expect(page.locator("#lightbox")).not_to_have_class("open")

    edit = page.locator("#messages .message", has_text="a kite over the sea").locator(
        ".block-button", has_text="Edit prompt"
    )
    await edit.click(timeout=WAIT)
    await expect(page.locator("#modal")).to_have_class("open")
    await page.keyboard.press("Escape")
    await expect(page.locator("#modal")).not_to_have_class("open")

    await page.click("[data-conversation=D0SANDBOX]")
    assert await page.evaluate("document.activeElement.id") == "input", "focused after a switch"

    await page.locator("#title").click()  # nothing focusable: then Tab, as a keyboard user
    await page.keyboard.press("Tab")
    ring = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    tag, outline, width = ring
    assert tag == "BUTTON"
    assert outline != "none", "a visible focus ring"
    assert width >= 2


async def test_small_things(page: Any, sandbox: RunningSandbox) -> None:
    from playwright.async_api import expect

    icon = await page.request.get(sandbox.url + "favicon.svg")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")

    # The DM: its thread box does not ask for a mention.
    await page.click("[data-conversation=D0SANDBOX]")
    await say(page, "a tiny red teapot")
    await expect(page.locator("#thread")).to_have_class(re.compile(r"\bopen\b"), timeout=WAIT)
    placeholder = await page.get_attribute("#thread-input", "placeholder")
    assert placeholder
    assert "mention" not in placeholder
    await expect(page.locator("#thread-messages .files img")).to_have_count(1, timeout=WAIT)

    # Home: links look like Slack's; "the Messages tab" is there.
    await page.click("#home-tab")
    link = page.locator("#messages .home a.permalink").first
    await expect(link).to_be_visible(timeout=WAIT)
    # Retried: the Home tab may be redrawn (the bot publishes it again) while read.
    await expect(link).to_have_css("color", LINK_BLUE)
    await expect(link).to_have_css("text-decoration-line", "none")
    await expect(page.locator("#messages .home")).to_contain_text("Messages tab")
    await page.locator("#tabs button", has_text="Messages").click()
    await expect(page.locator("#title")).to_have_text("🍌 banana")
    await expect(page.locator("[data-conversation=D0SANDBOX]")).to_have_class("active")

    # Plain channel text is not for the bot: a one-time hint says how to ask.
    await page.click("[data-conversation=C0GENERAL]")
    await say(page, "hello everyone")
    hint = page.locator("#messages .ephemeral", has_text="/banana")
    await expect(hint).to_contain_text("@banana", timeout=WAIT)
    await expect(hint).to_contain_text("Slackbot")
    await say(page, "anyone here?")
    await expect(page.locator("#messages .message", has_text="anyone here?")).to_have_count(1)
    await page.wait_for_timeout(500)
    await expect(hint).to_have_count(1)


async def test_a_reload_keeps_the_place_and_forgets_ephemerals(page: Any) -> None:
    from playwright.async_api import expect

    await say(page, "/banana usage")
    usage = page.locator("#messages .ephemeral", has_text="today")
    await expect(usage).to_have_count(1, timeout=WAIT)

    await page.click("[data-conversation=D0SANDBOX]")
    await say(page, "a snail on a leaf")
    await expect(page.locator("#thread")).to_have_class(re.compile(r"\bopen\b"), timeout=WAIT)
    root = await page.get_attribute("#thread", "data-root")
    await expect(page.locator("#thread-messages .files img")).to_have_count(1, timeout=WAIT)

    await page.reload()
    await expect(page.locator("[data-conversation=D0SANDBOX]")).to_have_class("active")
    await expect(page.locator("#thread")).to_have_class(re.compile(r"\bopen\b"))
    assert await page.get_attribute("#thread", "data-root") == root
    await expect(page.locator("#thread-messages")).to_contain_text("a snail on a leaf")

    await page.click("[data-conversation=C0GENERAL]")
    await expect(page.locator("#messages .message").first).to_be_visible()
    await expect(page.locator("#messages .ephemeral")).to_have_count(0)


async def test_a_restart_brings_the_conversation_back(browser: Any, tmp_path: Path) -> None:
    from playwright.async_api import expect

    port = free_port()
    async with running_sandbox(tmp_path, port):
        page = await open_page(browser, f"http://127.0.0.1:{port}/")
        await page.click("[data-conversation=D0SANDBOX]")
        await say(page, "a lantern in the snow")
        await expect(page.locator("#thread-messages .files img")).to_have_count(1, timeout=WAIT)

    async with running_sandbox(tmp_path, port) as again:
        assert "messages from last time" in again.banner
        await page.reload()
        await expect(page.locator("[data-conversation=D0SANDBOX]")).to_have_class("active")
        await expect(page.locator("#thread-messages")).to_contain_text("a lantern in the snow")
        await loaded(page, "#thread-messages .files img")
        await page.click("#home-tab")  # the journal's history links find their message
        await page.locator("#messages .home a.permalink").first.click()
        await expect(page.locator(".message.highlight")).to_contain_text("lantern")

    shutil.rmtree(tmp_path / "data" / "sandbox")  # a sandbox that kept nothing
    async with running_sandbox(tmp_path, port):
        await page.goto(f"http://127.0.0.1:{port}/#home")
        await page.reload()
        await page.locator("#messages .home a.permalink").first.click(timeout=WAIT)
        await expect(page.locator("#notice")).to_contain_text("gone")
    await page.context.close()


async def test_the_whole_flow_in_chinese_in_the_browser(page: Any) -> None:
    from playwright.async_api import expect

    await page.select_option("#language", "zh")
    messages = page.locator("#messages")
    await expect(messages).to_contain_text("好的，以后我用中文回复你", timeout=WAIT)
    try:
        await say(page, "/banana help")
        await expect(messages).to_contain_text("比例也可以写名称", timeout=WAIT)
        await say(page, "/banana 公园里的柴犬 --ar 宽屏")
        await expect(messages).to_contain_text("正在生成", timeout=WAIT)
        await expect(page.locator("#messages .files img").last).to_be_visible(timeout=WAIT)
        await expect(messages).to_contain_text("想画 公园里的柴犬")
        await page.locator("#messages .block-button", has_text="修改提示词").last.click()
        await expect(page.locator("#modal-title")).to_have_text("修改提示词")
        await expect(page.locator("#modal-cancel")).to_have_text("取消")
        await page.fill("#modal-input", "公园里的柴犬 --ar 7:3")
        await page.click("#modal-submit")
        await expect(page.locator("#modal-error")).to_contain_text("模型画不了 7:3 这个比例")
        await page.click("#modal-cancel")
        await expect(page.locator("#modal")).not_to_have_class("open")
        OUT.mkdir(exist_ok=True)
        await page.screenshot(path=str(OUT / "sandbox-zh.png"))
        await page.click("#home-tab")
        home = page.locator("#messages .home")
        await expect(home).to_contain_text("一句话变成一张图", timeout=WAIT)
        await expect(home).to_contain_text("你最近画的图")
        await page.screenshot(path=str(OUT / "sandbox-zh-home.png"))
    finally:  # the sandbox is shared with the other tests: back to English
        await page.select_option("#language", "en")
    await page.click("[data-conversation=C0GENERAL]")
    await expect(messages).to_contain_text("from now on I'll answer you in English", timeout=WAIT)
