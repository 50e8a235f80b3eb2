"""What Slack said when it would not take something: its short error code, never
the SDK's dump of the whole answer (that is no text for a person)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.http_headers import parse_retry_after

# Where the bot cannot post: join (public channels) or move to the requester's DM.
UNREACHABLE = ("not_in_channel", "channel_not_found", "is_archived")


class DeliveryError(Exception):
    """Slack refused or could not take something the bot had to post.

    ``code`` is Slack's error code (``not_in_channel``…), ``http_503`` and the
    like, or ``unreachable``: short, ours to show; the SDK's own text is not.
    """

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after  # Slack's Retry-After, when it sent one


def error_code(exc: Exception) -> str:
    """Slack's short error code for a failed call, never the SDK's dump of the answer."""
    if isinstance(exc, DeliveryError):
        return exc.code
    if isinstance(exc, SlackApiError):
        # An outage answers with an HTML or text page, not JSON: then only the status says.
        data = exc.response.data
        error = data.get("error", "") if isinstance(data, dict) else ""
        return str(error) or f"http_{exc.response.status_code}"
    return "unreachable"


def delivery_error(what: str, exc: Exception) -> DeliveryError:
    code = error_code(exc)
    retry_after = None
    if isinstance(exc, SlackApiError):
        headers = exc.response.headers or {}
        retry_after = parse_retry_after(
            next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)
        )
    return DeliveryError(f"{what}: {code}", code=code, retry_after=retry_after)
