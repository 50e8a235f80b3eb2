"""Every word the bot says, rendered as Slack will read it: mrkdwn where Slack
parses markup (no stray ``<``, ``&``, ``*``, ``_`` or backtick), plain text where
it does not (buttons, dialogs, modal titles and errors: no markup at all)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

import pytest

from bot.generation import (
    BadRequest,
    Declined,
    GatewayErrorCode,
    GatewayTimeout,
    KeyRejected,
    MalformedAnswer,
    RateLimited,
    UpstreamUnavailable,
)
from bot.jobs import Job
from bot.jobs.accounting import Usage
from bot.options import ImageOptions, UsageError, parse_request
from bot.slack import mrkdwn, views
from bot.text import COMMAND, LANGUAGES, say, speaking
from tests.test_catalogs import entries, plural_keys

# What Slack reads between < and >: a mention, a channel, a link (with a label).
_CONTROL = re.compile(
    r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+(?:\|[^<>|]+)?|https?://[^\s<>|]+(?:\|[^<>]+)?)>"
)
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_CODE = re.compile(r"`[^`]*`")
_OPENS_AFTER = set(" \t([{\"'“‘—–-/") | {""}
_CLOSES_BEFORE = set(" \t.,;:!?)]}\"'”’—–-/…") | {""}
PLAIN_KEYS = ("button.", "confirm.", "modal.", "cli.", "home.title")


def mrkdwn_problems(text: str) -> list[str]:
    """What Slack would misread in ``text``, line by line (empty: nothing)."""
    problems = []
    for line in text.split("\n"):
        if line.count("`") % 2:
            problems.append(f"unbalanced backtick: {line!r}")
            continue
        # Slack reads < and & even inside code spans: only its own sequences may stay.
        bare = _ENTITY.sub("", _CONTROL.sub("", line))
        quote = bare.startswith(">")
        if "<" in bare or "&" in bare or ">" in bare[1 if quote else 0 :]:
            problems.append(f"raw < > or & (escape it): {line!r}")
        problems.extend(_stray_emphasis(_CODE.sub("x", line)))
    return problems


def _stray_emphasis(line: str) -> list[str]:
    """Bold and italic markers that do not pair up where Slack pairs them: an
    opener after a space or opening punctuation, a closer before a space or
    closing punctuation (``*Usage:*`` is fine, ``*bold*s`` is not)."""
    problems = []
    for marker in "*_":
        open_at: int | None = None
        for index, char in enumerate(line):
            if char != marker:
                continue
            before = line[index - 1] if index else ""
            after = line[index + 1] if index + 1 < len(line) else ""
            if marker == "_" and before.isalnum() and after.isalnum():
                continue  # snake_case: Slack leaves it alone
            if open_at is not None and before not in " \t" and after in _CLOSES_BEFORE:
                open_at = None
            elif open_at is None and before in _OPENS_AFTER and after not in " \t":
                open_at = index
            else:
                problems.append(f"stray {marker} at {index}: {line!r}")
        if open_at is not None:
            problems.append(f"unclosed {marker} at {open_at}: {line!r}")
    return problems


def plain_problems(text: str) -> list[str]:
    """Markup in text Slack shows as typed."""
    found = [c for c in "`*" if c in text] + _ENTITY.findall(text)
    found += [m for m in re.findall(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", text)]
    return [f"markup {found} in plain text: {text!r}"] if found else []


def test_the_checker_catches_what_slack_misreads() -> None:
    assert mrkdwn_problems("*Usage:* `/banana <what to draw>`")
    assert mrkdwn_problems("*Ratios (`--ar`)")
    assert mrkdwn_problems("Type `/banana help")
    assert mrkdwn_problems("a *bold*s word")
    assert mrkdwn_problems("5 * 3 and _half")
    assert mrkdwn_problems("cats & dogs")
    assert not mrkdwn_problems("*Usage:* `/banana &lt;what to draw&gt;` · BANANA_API_KEY")
    assert not mrkdwn_problems("✅ *v2* <@U0ALICE>: _a cat_ · <https://x/p1|open>\n> quoted")
    assert plain_problems("Type `/banana help`")
    assert not plain_problems("Options: --ar W:H, --size 1K|2K")


def _sample(key: str, entry: str) -> dict[str, object]:
    fields = {name for _, name, _, _ in string.Formatter().parse(entry) if name}
    return {name: "sample" for name in fields}


def _renderings() -> list[tuple[str, str]]:
    rendered = []
    plural = plural_keys("en")
    for language in LANGUAGES:
        for key, forms in entries(language).items():
            for number, form in enumerate(forms):
                params = _sample(key, form)
                if key in plural:
                    params["count"] = 1 if number == 0 else 3
                with speaking(language):
                    rendered.append((f"{language}:{key}", say(key, **params)))
    return rendered


@pytest.mark.parametrize(("key", "text"), _renderings(), ids=lambda v: str(v)[:40])
def test_every_message_reads_as_intended(key: str, text: str) -> None:
    if key.split(":", 1)[1].startswith(PLAIN_KEYS):
        assert plain_problems(text) == []
    else:
        assert mrkdwn_problems(text) == []


def job(prompt: str = "a cat", **options: object) -> Job:
    return Job(
        key="k",
        user="U0ALICE",
        channel="C0GENERAL",
        prompt=prompt,
        options=ImageOptions("16:9", "2K", 2, **options),  # type: ignore[arg-type]
        source="command",
    )


BAD_REQUESTS = [
    "a cat --ar 7:3",
    "a cat --ar sideways",
    "a cat --size 4K",
    "a cat --n 9",
    "a cat --ratio 16:9",
    "a cat --zzz 1",
    "a cat --ar 1:1 --ar 1:1",
    "a cat --ar",
    "--ar 16:9",
    "x" * 5000,
]


def _usage_errors() -> list[UsageError]:
    errors = []
    for text in BAD_REQUESTS:
        with pytest.raises(UsageError) as caught:
            parse_request(text)
        errors.append(caught.value)
    return errors


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test in each language the bot speaks."""
    with speaking(request.param):
        yield request.param


@pytest.mark.usefixtures("language")
def test_help_usage_and_their_errors_render_in_slack() -> None:
    texts = [mrkdwn.usage_text(COMMAND), mrkdwn.usage_text("@banana")]
    texts += [mrkdwn.usage_error_text(error) for error in _usage_errors()]
    for text in texts:
        assert mrkdwn_problems(text) == []
    assert "`/banana &lt;" in texts[0]
    assert "&gt; [--ar W:H]" in texts[0]


def test_modal_errors_are_plain_text(language: str) -> None:
    for error in _usage_errors():
        assert plain_problems(mrkdwn.plain_usage_error(error)) == []
    (ratio,) = [e for e in _usage_errors() if e.params.get("value") == "7:3"]
    said = mrkdwn.plain_usage_error(ratio)
    assert said.startswith("7:3 is not a ratio" if language == "en" else "模型画不了 7:3 这个比例")


@pytest.mark.usefixtures("language")
def test_status_lines_results_and_reports_render_in_slack() -> None:
    made = job()
    texts = [
        mrkdwn.status_text(made, state, 12, "a reason", attempts=3, ahead=2)
        for state in ("queued", "running", "failed", "delivered")
    ]
    texts.append(views.result_card(made, 12.0, 2, version=3)[0])
    texts.append(
        mrkdwn.result_comment(
            user="U0ALICE",
            prompt="a cat",
            options=made.options,
            elapsed=3,
            generations=[],
            failures=[RateLimited("busy")],
        )
    )
    failures = [
        Declined("no", finish_reason="IMAGE_SAFETY"),
        Declined("", finish_reason="OTHER"),
        RateLimited("busy"),
        GatewayTimeout("slow"),
        UpstreamUnavailable("down"),
        KeyRejected("no", status=401),
        BadRequest("bad", status=400),
        GatewayErrorCode(-1013, "Provided image is not valid"),
        MalformedAnswer("broken"),
    ]
    texts += [mrkdwn.failure_text(error) for error in failures]
    texts += [
        mrkdwn.usage_report_text(Usage(3, 0.2, 1.4, 1), 50, is_admin=admin, free=free)
        for admin in (True, False)
        for free in (True, False)
    ]
    texts += [
        mrkdwn.quota_note(made, 3, quota, free=free)
        for quota in (None, 50)
        for free in (True, False)
    ]
    texts += [mrkdwn.cancel_report_text(n) for n in (0, 1, 2)]
    texts += [mrkdwn.origin_note(url) for url in (None, "https://x/p1")]
    texts.append(mrkdwn.inputs_note(["one.png", "two.png"]))
    texts.append(mrkdwn.history_text([]))
    texts.append(
        mrkdwn.history_text(
            [
                mrkdwn.HistoryItem("a cat", made.options, 1.79e9, 2, "https://x/p1"),
                mrkdwn.HistoryItem("a_dog", made.options, 1.79e9, None, None),
            ]
        )
    )
    for text in texts:
        assert mrkdwn_problems(text) == [], text
