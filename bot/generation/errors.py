"""Every way a generation can fail, one class per cause.

::

    GenerationError
    ├── BadRequest            400: the gateway rejected the request (not retried)
    ├── KeyRejected           401/403: the key is wrong or expired (not retried)
    ├── RateLimited           429: too many requests (retried, honouring Retry-After)
    ├── UpstreamUnavailable   5xx, connection errors (retried with backoff)
    │   └── GatewayTimeout    no whole answer within BANANA_TIMEOUT (retried)
    ├── Declined              a 200 with no image: carries the model's own words
    ├── GatewayErrorCode      ``code != 0`` or an ``error`` object: carries code and message
    └── MalformedAnswer       not JSON, bad base64, bad compression, or bytes that are no image
        └── AnswerTooLarge    the answer outgrew the size any image needs (not retried)

Messages never contain the key or the request URL.
"""

from __future__ import annotations


class GenerationError(Exception):
    """Base class; ``logid`` names the last attempt for support."""

    retryable = False

    def __init__(self, message: str, *, logid: str | None = None) -> None:
        super().__init__(message)
        self.logid = logid


class BadRequest(GenerationError):
    def __init__(self, message: str, *, status: int, logid: str | None = None) -> None:
        super().__init__(message, logid=logid)
        self.status = status


class KeyRejected(GenerationError):
    def __init__(self, message: str, *, status: int, logid: str | None = None) -> None:
        super().__init__(message, logid=logid)
        self.status = status


class RateLimited(GenerationError):
    retryable = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, logid: str | None = None
    ) -> None:
        super().__init__(message, logid=logid)
        self.retry_after = retry_after


class UpstreamUnavailable(GenerationError):
    retryable = True

    def __init__(self, message: str, *, status: int | None = None, logid: str | None = None):
        super().__init__(message, logid=logid)
        self.status = status


class GatewayTimeout(UpstreamUnavailable):
    """The gateway did not finish answering in time (one call's whole deadline, or a
    connect or read timeout). Match on this class, not on the message's words."""


class Declined(GenerationError):
    """The model answered without an image; ``model_text`` holds what it said."""

    def __init__(
        self,
        model_text: str,
        *,
        finish_reason: str | None = None,
        logid: str | None = None,
    ) -> None:
        reason = f" ({finish_reason})" if finish_reason else ""
        said = f": {model_text}" if model_text else ""
        super().__init__(f"the model returned no image{reason}{said}", logid=logid)
        self.model_text = model_text
        self.finish_reason = finish_reason


class GatewayErrorCode(GenerationError):
    def __init__(self, code: object, message: str, *, logid: str | None = None) -> None:
        super().__init__(f"gateway error {code}: {message}", logid=logid)
        self.code = code
        self.gateway_message = message


class MalformedAnswer(GenerationError):
    pass


class AnswerTooLarge(MalformedAnswer):
    """The answer's body passed its ceiling; reading stopped there."""
