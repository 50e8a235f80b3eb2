"""What the bot is doing and what it costs, for Prometheus (``GET /metrics``).

One :class:`Metrics` per process, on its own registry (no module globals), handed
to whoever counts. Labels stay low-cardinality: surfaces, outcomes, error
classes, Slack methods and error codes, sizes — never users, channels or prompts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.generation.model import estimated_cost

CONTENT_TYPE = CONTENT_TYPE_LATEST
_GATEWAY_BUCKETS = (1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "banana_requests",
            "Requests by surface and what became of them (accepted, duplicate, refused_*).",
            ["surface", "outcome"],
            registry=registry,
        )
        self.images = Counter(
            "banana_images",
            "Images by result: generated, failed, declined.",
            ["result"],
            registry=registry,
        )
        self.image_failures = Counter(
            "banana_image_failures",
            "Images that failed, by error class.",
            ["error"],
            registry=registry,
        )
        self.gateway_seconds = Histogram(
            "banana_gateway_call_seconds",
            "Time from a unit's first gateway call to its answer, retries included.",
            buckets=_GATEWAY_BUCKETS,
            registry=registry,
        )
        self.attempts = Histogram(
            "banana_gateway_attempts_per_image",
            "Gateway calls made for one image (1 = no retry).",
            buckets=(1, 2, 3, 4, 5, 8),
            registry=registry,
        )
        self.slack_errors = Counter(
            "banana_slack_api_errors",
            "Slack Web API calls that failed, by method and Slack's error code.",
            ["method", "error"],
            registry=registry,
        )
        self.rate_limit_waits = Counter(
            "banana_slack_rate_limit_waits",
            "Slack 429 answers waited out, by method.",
            ["method"],
            registry=registry,
        )
        self.spend = Counter(
            "banana_estimated_spend_usd",
            "Estimated spend at list prices, by image size (refusals and failures are free).",
            ["size"],
            registry=registry,
        )
        self.queue_depth = Gauge(
            "banana_queue_depth", "Images waiting for a gateway call.", registry=registry
        )
        self.in_flight = Gauge(
            "banana_images_in_flight", "Images being generated right now.", registry=registry
        )
        self.oldest_waiting = Gauge(
            "banana_oldest_waiting_request_seconds",
            "Age of the oldest request still waiting for its first image (0: none).",
            registry=registry,
        )

    def watch_queue(
        self,
        depth: Callable[[], int],
        in_flight: Callable[[], int],
        oldest_waiting_since: Callable[[], float | None],
    ) -> None:
        """Read the runner's state at scrape time, so the gauges are never stale."""
        self.queue_depth.set_function(depth)
        self.in_flight.set_function(in_flight)

        def age() -> float:
            since = oldest_waiting_since()
            return 0.0 if since is None else max(0.0, time.time() - since)

        self.oldest_waiting.set_function(age)

    def delivered(self, size: str, images: int) -> None:
        self.images.labels("generated").inc(images)
        self.spend.labels(size).inc(estimated_cost(size, images))

    def image_failed(self, error: Exception, *, declined: bool) -> None:
        self.images.labels("declined" if declined else "failed").inc()
        self.image_failures.labels(type(error).__name__).inc()

    def slack_error(self, method: str, code: str) -> None:
        self.slack_errors.labels(method or "unknown", code or "unknown").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
