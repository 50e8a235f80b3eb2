"""Why a generation failed, in the requester's words (chat and terminal alike).

Words from outside — the model's, the gateway's — have any ``ak=`` key
scrubbed (a gateway error may echo its request URL), are cut to fit a
message, and pass through ``quote`` (the chat escapes them; the terminal shows
them as they are).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.generation import (
    BadRequest,
    Declined,
    GatewayErrorCode,
    GatewayTimeout,
    GenerationError,
    KeyRejected,
    MalformedAnswer,
    RateLimited,
    UpstreamUnavailable,
)
from bot.logs import redact_query_keys
from bot.text import say

# Slack refuses a card whose section is over 3,000 characters: the model's (or
# the gateway's) words are cut well before that.
MODEL_WORDS_SHOWN = 600
REFUSALS = {
    "IMAGE_SAFETY",
    "SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "RECITATION",
    "NO_IMAGE",
}
Quote = Callable[[str], str]


def as_is(text: str) -> str:
    return text


def clip(text: str, limit: int = MODEL_WORDS_SHOWN) -> str:
    """Words from the model or the gateway, with no key in them, cut to fit a message or card."""
    text = redact_query_keys(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def refusal_reason(finish_reason: str | None, quote: Quote = as_is) -> str | None:
    if not finish_reason:
        return None
    if finish_reason.upper() in REFUSALS:
        return say(f"refusal.{finish_reason.upper()}")
    return say("refusal.other", reason=quote(clip(finish_reason, 80)))


def failure_text(error: GenerationError, quote: Quote = as_is, *, ask: str = "") -> str:
    """What the requester reads when a generation fails."""
    ask = ask or say("failure.ask_admin")
    if isinstance(error, Declined):
        reason = refusal_reason(error.finish_reason, quote)
        why = say("failure.declined_why", reason=reason) if reason else ""
        words = error.model_text
        said = say("failure.declined_said", words=quote(clip(words))) if words else ""
        return say("failure.declined", why=why, said=said, hint=say("failure.rephrase_hint"))
    if isinstance(error, RateLimited):
        return say("failure.rate_limited")
    if isinstance(error, GatewayTimeout):
        return say("failure.timeout")
    if isinstance(error, UpstreamUnavailable):
        return say("failure.unavailable")
    if isinstance(error, KeyRejected):
        return say("failure.key_rejected")
    if isinstance(error, BadRequest):
        return say("failure.bad_request", detail=quote(clip(str(error))))
    if isinstance(error, GatewayErrorCode):
        return say(
            "failure.gateway_code",
            code=quote(clip(str(error.code), 40)),
            detail=quote(clip(error.gateway_message)),
            ask=ask,
        )
    if isinstance(error, MalformedAnswer):
        return say("failure.malformed")
    return say("failure.other", detail=quote(clip(str(error))))


def cli_failure_text(error: GenerationError) -> str:
    """One line for the terminal, where the reader is usually the admin."""
    if isinstance(error, KeyRejected):
        return say("cli.key_rejected", status=error.status)
    if isinstance(error, BadRequest):
        return say("cli.bad_request", detail=redact_query_keys(str(error)))
    return failure_text(error, ask=say("cli.ask_admin"))
