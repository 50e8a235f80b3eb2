"""Image generation through the nano-banana2 gateway. Knows nothing about Slack."""

from bot.generation.client import (
    Generation,
    GenerationClient,
    ImageRequest,
    RetryPolicy,
    new_logid,
)
from bot.generation.errors import (
    AnswerTooLarge,
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
from bot.generation.images import (
    GeneratedImage,
    ImageTooLarge,
    InputImage,
    NotAnImage,
    UnreadableImage,
    identify,
    prepare_input,
)
from bot.generation.pacing import CallPacer, Pacer

__all__ = [
    "AnswerTooLarge",
    "BadRequest",
    "CallPacer",
    "Declined",
    "GatewayErrorCode",
    "GatewayTimeout",
    "GeneratedImage",
    "Generation",
    "GenerationClient",
    "GenerationError",
    "ImageRequest",
    "ImageTooLarge",
    "InputImage",
    "KeyRejected",
    "MalformedAnswer",
    "NotAnImage",
    "Pacer",
    "RateLimited",
    "RetryPolicy",
    "UnreadableImage",
    "UpstreamUnavailable",
    "identify",
    "new_logid",
    "prepare_input",
]
