"""``banana-bot serve``: the Slack bot, in Socket Mode or over HTTP.

Owns the process: shared clients, the job runner, the health endpoint, and
an orderly shutdown on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackClientError

from bot.gateway import open_generation_client
from bot.jobs import JobRunner, Journal, Limits, StoreError
from bot.jobs.budget import BudgetWatch
from bot.jobs.chores import PRUNE_EVERY, Periodic, prune_journal
from bot.jobs.retention import Retention
from bot.jobs.spool import Spool, SpoolUnusable
from bot.metrics import Metrics
from bot.settings import Settings, SettingsError
from bot.slack.app import EVENTS_PATH, build_bolt_app, build_web_app
from bot.slack.assistant_threads import AssistantThreads
from bot.slack.client import create_web_client
from bot.slack.downloads import FileFetcher
from bot.slack.languages import CHOICE_TTL, LOCALE_TTL, Languages
from bot.slack.listeners import Intake, register_listeners
from bot.slack.notices import AdminNotices
from bot.slack.panel import PanelStatus
from bot.slack.publisher import SlackPublisher
from bot.slack.sharing import ResultSharer
from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)

SLACK_CONNECTIONS = 4
BUDGET_CHECK_EVERY = 60.0  # a threshold crossed with no request since is noticed this soon


def run_serve(settings: Settings) -> int:
    try:
        settings.require_slack()
        settings.require_api_key()
    except SettingsError as exc:
        print(f"banana-bot serve: {exc}", file=sys.stderr)
        return 1
    return run_until_signalled(lambda stop: serve(settings, stop))


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """Run ``main(stop)`` in a new event loop; SIGTERM or SIGINT sets ``stop``."""

    async def runner() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        return await main(stop)

    return asyncio.run(runner())


async def serve(settings: Settings, stop: asyncio.Event) -> int:
    """Run the bot until ``stop`` is set, then drain and close everything."""
    try:
        journal = await Journal.open(settings.database, lease_seconds=settings.lease_seconds)
    except StoreError as exc:
        print(f"banana-bot serve: {exc}", file=sys.stderr)
        return 1
    try:
        return await _serve_with(settings, stop, journal)
    finally:
        await journal.close()


async def _serve_with(settings: Settings, stop: asyncio.Event, journal: Journal) -> int:
    # A few connections to Slack at most: a burst of status posts queues briefly
    # instead of opening dozens of connections while acks are being answered.
    connector = aiohttp.TCPConnector(limit_per_host=SLACK_CONNECTIONS)
    # Replicas on one PostgreSQL journal share one pacer: the gateway's limits hold
    # whatever their number.
    pacer = journal.shared_pacer(settings.concurrency, settings.min_interval)
    # Made images are decoded straight into the spool's filesystem, never whole in memory.
    spool = Spool(settings.spool_path, settings.spool_max_mb * 1024**2)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        open_generation_client(settings, pacer, spool.incoming) as generator,
    ):
        metrics = Metrics()
        client = create_web_client(settings, session, metrics)
        try:
            identity = await client.auth_test()
        except SlackClientError as exc:
            logger.error(
                "Slack rejected SLACK_BOT_TOKEN or is unreachable (%s); check the token "
                "and SLACK_API_URL",
                exc,
            )
            return 1
        writer = SlackWriter(client, session, workspace_url=str(identity.get("url") or ""))
        files = FileFetcher(
            client, session, api_url=settings.slack_api_url, max_bytes=settings.max_input_bytes
        )
        limits = Limits(
            max_queued_per_user=settings.max_queued_per_user,
            daily_quota=settings.daily_quota,
            admins=settings.admins,
            allowed_channels=settings.allowed_channels,
        )
        threads = AssistantThreads(client, str(identity.get("user_id") or ""))
        languages = Languages(client, journal, default=settings.language)
        runner = JobRunner(
            generator,
            SlackPublisher(
                writer, files, languages, PanelStatus(threads, writer, limits.allows_channel)
            ),
            journal,
            workers=settings.concurrency,
            resume_within=settings.resume_within,
            metrics=metrics,
            queue=journal.shared_queue(settings.concurrency, settings.min_interval),
            spool=spool,
            deliver_within=settings.deliver_within,
        )
        bolt = build_bolt_app(settings, client, identity)
        retention = Retention.of_days(settings.retention_days)
        chores = [
            Periodic("journal pruning", lambda: prune_journal(journal, retention), PRUNE_EVERY),
            Periodic("learning languages", languages.learn_everyone, LOCALE_TTL / 2),
            Periodic("reading chosen languages", languages.learn_choices, CHOICE_TTL / 2),
        ]
        budget = None
        if settings.monthly_budget is not None:
            notices = AdminNotices(writer, settings.admin_channel)
            budget = BudgetWatch(journal, settings.monthly_budget, notices.budget)
            chores.append(Periodic("budget check", budget.check, BUDGET_CHECK_EVERY))
        intake = Intake(
            runner=runner,
            writer=writer,
            journal=journal,
            limits=limits,
            files=files,
            languages=languages,
            max_images=settings.max_images,
            max_prompt=settings.max_prompt,
            metrics=metrics,
            max_queue=settings.max_queue,
            free_previews=settings.free_previews,
            budget=budget,
        )
        register_listeners(bolt, intake, (threads, ResultSharer(writer, files)))
        for chore in chores:
            chore.start()  # pruning's first round runs now: old delivery keys go at start
        runner.start()
        try:
            resumed = await runner.recover()
        except SpoolUnusable as exc:
            print(f"banana-bot serve: {exc}", file=sys.stderr)
            return 1
        if resumed:
            logger.info("resumed %d job(s) left unfinished by the last run", resumed)

        socket: AsyncSocketModeHandler | None = None
        if settings.slack_app_token:
            socket = AsyncSocketModeHandler(bolt, settings.slack_app_token, web_client=client)
            handler = socket

            async def health() -> dict[str, bool]:
                return {
                    "slack": await handler.client.is_connected(),
                    "journal": await journal.writable(),
                }

            web_app = build_web_app(None, health, metrics)
        else:

            async def health() -> dict[str, bool]:
                # Stopping: out of the load balancer's rotation (requests that still
                # come are journaled for the other replicas).
                return {"serving": not stop.is_set(), "journal": await journal.writable()}

            web_app = build_web_app(bolt, health, metrics, intake.foreground)

        web_runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=5)
        await web_runner.setup()
        host = settings.host or "0.0.0.0"
        site = web.TCPSite(web_runner, host, settings.port)
        await site.start()
        if socket is not None:
            await socket.connect_async()  # type: ignore[no-untyped-call]
        mode = "Socket Mode" if socket else f"HTTP on {EVENTS_PATH}"
        logger.info(
            "banana-bot serving as %s (%s); health on http://%s:%d/healthz",
            identity.get("user"),
            mode,
            host,
            settings.port,
        )
        await stop.wait()

        logger.info("shutting down: finishing %d running job(s)", runner.active)
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]
        intake.foreground.release()  # held jobs go to the runner, which finishes them
        await runner.close(settings.shutdown_grace)
        await intake.drain(grace=5.0)
        for chore in chores:
            await chore.close()
        await web_runner.cleanup()
    logger.info("stopped")
    return 0
