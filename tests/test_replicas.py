"""Several real ``banana-bot serve`` processes on one PostgreSQL: leases, takeover,
one pacer, restarts. Every test here runs real processes against the stand-ins."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
import psycopg

from bot.standins.gateway import GatewayStandIn, RecordedRequest
from bot.standins.slack import BOT_USER, SlackStandIn
from bot.standins.slack_sender import app_mention, envelope, slash_command
from tests.harness import APP_TOKEN, RunningBot, eventually, running_bot

CHANNEL = "C0GENERAL"
LEASE = 3.0


def uploads(slack: SlackStandIn) -> int:
    return len(slack.calls_to("files.completeUploadExternal"))


@asynccontextmanager
async def replicas(
    count: int,
    gateway: GatewayStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
    postgres_url: str,
    **extra: str,
) -> AsyncIterator[list[RunningBot]]:
    """``count`` bot processes on one database (HTTP mode), started together."""
    settings = {
        "BANANA_DB": postgres_url,
        "BANANA_LEASE_SECONDS": str(LEASE),
        "BANANA_MAX_QUEUED_PER_USER": "20",
        "BANANA_DAILY_QUOTA": "500",
        **extra,
    }
    async with AsyncExitStack() as stack:
        yield list(
            await asyncio.gather(
                *(
                    stack.enter_async_context(
                        # Each its own disk for made images, as in compose.yaml.
                        running_bot(gateway, slack, tmp_path, BANANA_SPOOL=f"spool-{n}", **settings)
                    )
                    for n in range(count)
                )
            )
        )


async def ask(bot: RunningBot, slack: SlackStandIn, text: str, user: str) -> None:
    fields = slash_command(
        text, user=user, channel=CHANNEL, response_url=slack.response_url(f"r{time.time_ns()}")
    )
    answer = await bot.sender.command(fields)
    assert answer.status == 200, text


async def test_a_dead_replicas_job_finishes_on_another_after_its_lease(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    gateway.latency = 2.0
    async with replicas(2, gateway, slack, tmp_path, postgres_url) as (doomed, survivor):
        await ask(doomed, slack, "a cat that outlives its bot", "U0ALICE")
        await eventually(lambda: gateway.requests)
        doomed.process.kill()  # kill -9, mid-call
        killed = time.monotonic()
        await eventually(lambda: uploads(slack) == 1, limit=LEASE * 3 + 10)
        taken_over_after = time.monotonic() - killed
        await asyncio.sleep(LEASE)
        assert uploads(slack) == 1
        assert len(gateway.requests) == 2  # once on each: it was in flight at the kill
        assert "took over 1 job(s)" in survivor.logs()
        # A lease, then at most a third of one until the survivor looks, then the call.
        assert taken_over_after < LEASE + LEASE / 3 + gateway.latency + 2, taken_over_after
        print(f"delivered by the other replica {taken_over_after:.1f}s after the kill")
        await survivor.stop(signal.SIGTERM)


def upload_sizes(slack: SlackStandIn) -> list[int]:
    """Files per ``files.completeUploadExternal``: one entry per delivered job."""
    sizes = []
    for call in slack.calls_to("files.completeUploadExternal"):
        files = call.args["files"]
        sizes.append(len(json.loads(files) if isinstance(files, str) else files))
    return sorted(sizes)


async def test_two_replicas_one_dead_every_job_once_one_pacer_fair_turns(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    """Issue 13's first proof: kill -9 a replica with calls in flight."""
    gateway.latency, gateway.latency_spread = 3.0, 2.0  # answers in 3-5 s
    concurrency, interval = 2, 1.0
    # A dead replica's calls count against the cap until its lease lapses (between
    # two thirds of a lease and a lease after the kill); the gateway may still be
    # answering them for up to 5 s, so the lease here outlasts that.
    lease = 8.0
    settings = {
        "BANANA_CONCURRENCY": str(concurrency),
        "BANANA_MIN_INTERVAL": str(interval),
        "BANANA_LEASE_SECONDS": str(lease),
    }
    prompts = {"UBATCH": "four owls", "UONE": "one heron", "UTWO": "two cranes"}
    async with replicas(2, gateway, slack, tmp_path, postgres_url, **settings) as (doomed, other):
        await asyncio.gather(
            ask(doomed, slack, prompts["UBATCH"] + " --n 4", "UBATCH"),
            ask(other, slack, prompts["UONE"], "UONE"),
            ask(doomed, slack, prompts["UTWO"], "UTWO"),
        )
        # Two calls at once: the third starts as the first ends, the second still in flight.
        await eventually(lambda: len(gateway.requests) >= 3)
        doomed.process.kill()  # kill -9 with calls in flight
        killed = time.monotonic()
        before_kill = list(gateway.requests)
        await eventually(lambda: len(upload_sizes(slack)) == 3, limit=60)
        finished = time.monotonic() - killed
        await asyncio.sleep(lease / 2)  # nothing more arrives
        assert upload_sizes(slack) == [1, 1, 4]  # every job delivered exactly once
        await other.stop()

    def sent(requests: list[RecordedRequest], user: str) -> int:
        return sum(r.prompt.startswith(prompts[user]) for r in requests)

    by_doomed = [u for u in ("UBATCH", "UTWO") if sent(before_kill, u)]
    assert by_doomed, "the killed replica had made no call"
    for user, count in (("UBATCH", 4), ("UONE", 1), ("UTWO", 1)):
        # Each image reached the gateway once after the kill; before it at most once
        # more (the dead replica's calls, in flight or done but not yet delivered).
        assert sent(before_kill, user) <= count, user
        total = sent(gateway.requests, user)
        # (A job the dead replica had already delivered is not made again.)
        again = sent(before_kill, user) if user in by_doomed else 0
        assert count <= total <= count + again, user
    starts = [r.at for r in gateway.requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # One pacer, by the database's clock; measured here as arrivals at the gateway,
    # which a busy machine may deliver a little unevenly.
    assert min(gaps) >= interval - 0.1, gaps
    assert gateway.max_in_flight <= concurrency
    # Turns by user across both replicas: all three served before anyone's second image
    # (the batch was queued first, on the replica that also holds a third user's job).
    first_three = {r.prompt.split(" --")[0] for r in gateway.requests[:3]}
    assert first_three == set(prompts.values()), [r.prompt for r in gateway.requests]
    print(f"all delivered {finished:.1f}s after the kill")


async def test_cancel_and_places_in_line_come_from_the_database(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    gateway.latency = 7  # longer than one status refresh (5 s)
    async with replicas(2, gateway, slack, tmp_path, postgres_url, BANANA_CONCURRENCY="1") as (
        queued_on,
        asked_on,
    ):
        for n in range(3):
            await ask(queued_on, slack, f"cat {n}", "U0ALICE")
        await eventually(lambda: gateway.in_flight)
        # Places count every replica's line and the call in flight.
        await eventually(
            lambda: [m for m in slack.visible() if "2 images ahead of yours" in m.text], 20
        )
        assert [m for m in slack.visible() if "1 image ahead of yours" in m.text]
        fields = slash_command(
            "cancel", user="U0ALICE", channel=CHANNEL, response_url=slack.response_url("c")
        )
        cancel = (await asked_on.sender.command(fields)).json()["text"]
        assert "Cancelled 2 queued requests" in cancel  # asked of the other replica
        await eventually(lambda: len([m for m in slack.visible() if "🚫" in m.text]) == 2)
        await eventually(lambda: uploads(slack) == 1, 20)
        await asyncio.sleep(1)
    assert len(gateway.requests) == 1


async def test_socket_mode_with_two_replicas_spreads_envelopes_and_generates_once(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    socket_mode = {"SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": ""}
    async with replicas(2, gateway, slack, tmp_path, postgres_url, **socket_mode):
        await eventually(lambda: slack.open_connections == 2)
        acks = []
        for n in range(6):
            fields = slash_command(
                f"socket cat {n}",
                user=f"U{n}",
                channel=CHANNEL,
                response_url=slack.response_url(f"s{n}"),
            )
            acks.append(await slack.send_envelope("slash_commands", dict(fields)))
        assert all("Generating" in ack["payload"]["text"] for ack in acks)
        # One mention, delivered again as Slack's retry: the two copies go to different
        # connections, so to different replicas.
        said = slack.add_user_message(CHANNEL, "U0ALICE", f"<@{BOT_USER}> a socket dog")
        event = envelope(app_mention(said.text, user="U0ALICE", channel=CHANNEL, ts=said.ts))
        await slack.send_envelope("events_api", event)
        await slack.send_envelope("events_api", event, retry_attempt=1)
        await eventually(lambda: uploads(slack) == 7, 30)
        await asyncio.sleep(1)
        assert uploads(slack) == 7
    assert sorted(collections.Counter(slack.envelope_connections).values()) == [4, 4]
    assert sorted(r.prompt for r in gateway.requests).count("a socket dog") == 1


async def test_healthz_reports_the_database(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    database = postgres_url.rsplit("/", 1)[1].split("?")[0]
    async with (
        replicas(1, gateway, slack, tmp_path, postgres_url) as (bot,),
        aiohttp.ClientSession() as session,
        await psycopg.AsyncConnection.connect(
            postgres_url.rsplit("/", 1)[0] + "/postgres", autocommit=True
        ) as admin,
    ):

        async def health() -> tuple[int, dict[str, object]]:
            async with session.get(f"{bot.url}/healthz") as response:
                return response.status, await response.json()

        assert await health() == (200, {"ok": True, "serving": True, "journal": True})
        # The database goes away: no new connections, and the open ones cut.
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [database],
        )
        assert await health() == (503, {"ok": False, "serving": True, "journal": False})
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        for _ in range(50):
            if (await health())[0] == 200:
                break
            await asyncio.sleep(0.2)
        assert await health() == (200, {"ok": True, "serving": True, "journal": True})


async def test_rolling_restart_under_load_acknowledges_everything_and_doubles_nothing(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    gateway.latency = 1.0
    settings = {
        "BANANA_DB": postgres_url,
        "BANANA_LEASE_SECONDS": str(LEASE),
        "BANANA_MAX_QUEUED_PER_USER": "20",
        "BANANA_CONCURRENCY": "2",
    }
    answers: dict[str, str] = {}
    async with AsyncExitStack() as stack:

        async def start() -> RunningBot:
            # All on one folder for made images (a shared volume): a replica starting
            # must not clear what the others are delivering from it.
            return await stack.enter_async_context(
                running_bot(gateway, slack, tmp_path, **settings)
            )

        rotation = list(await asyncio.gather(start(), start()))
        turn = itertools.count()

        async def send(n: int) -> None:
            """A load balancer: the replicas in rotation in turn; a refused connection
            (a replica that just stopped) is tried on the next."""
            await asyncio.sleep(n * 0.25)
            prompt = f"rolling cat {n}"
            fields = slash_command(
                prompt, user=f"U{n % 5}", channel=CHANNEL, response_url=slack.response_url(prompt)
            )
            for _ in range(20):
                bot = rotation[next(turn) % len(rotation)]
                try:
                    answer = await bot.sender.command(fields)
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
                    continue
                assert answer.status == 200, prompt
                answers[prompt] = answer.json()["text"]
                return
            raise AssertionError(f"{prompt}: no replica answered")

        async def roll() -> None:
            """Each replica in turn: a new one joins, then the old one gets SIGTERM and
            leaves the rotation once it has exited (requests reach it while it drains)."""
            for _ in range(2):
                await asyncio.sleep(1.5)
                rotation.append(await start())
                old = rotation[0]
                assert await old.stop(signal.SIGTERM) == 0
                rotation.remove(old)

        await asyncio.gather(roll(), *(send(n) for n in range(30)))
        await eventually(lambda: uploads(slack) == 30, 60)
        await asyncio.sleep(1.5)
    assert len(answers) == 30
    assert not [text for text in answers.values() if "restarting" in text], answers
    assert uploads(slack) == 30
    made = collections.Counter(r.prompt for r in gateway.requests)
    assert sorted(made) == sorted(answers)
    assert set(made.values()) == {1}, made  # nothing generated twice


async def test_one_slack_retry_reaching_both_replicas_makes_one_image(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    async with replicas(2, gateway, slack, tmp_path, postgres_url) as (first, second):
        # The same event (one event_id), delivered to both at once, as a retry does.
        said = slack.add_user_message(CHANNEL, "U0ALICE", f"<@{BOT_USER}> one retried fox")
        event = envelope(app_mention(said.text, user="U0ALICE", channel=CHANNEL, ts=said.ts))
        sent = await asyncio.gather(
            first.sender.event(event), second.sender.event(event, retry_num=1)
        )
        # One message under two event ids (Slack's message and app_mention events).
        said = slack.add_user_message(CHANNEL, "U0BOB", f"<@{BOT_USER}> one twice-told owl")
        mention = app_mention(said.text, user="U0BOB", channel=CHANNEL, ts=said.ts)
        sent += await asyncio.gather(
            first.sender.event(envelope(mention)), second.sender.event(envelope(mention))
        )
        assert [answer.status for answer in sent] == [200] * 4
        await eventually(lambda: uploads(slack) == 2, 20)
        await asyncio.sleep(2)
    assert uploads(slack) == 2
    assert sorted(r.prompt for r in gateway.requests) == ["one retried fox", "one twice-told owl"]


async def test_the_quota_holds_when_one_user_asks_both_replicas_at_once(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    async with replicas(2, gateway, slack, tmp_path, postgres_url, BANANA_DAILY_QUOTA="3") as (
        first,
        second,
    ):
        texts = []
        for round_ in range(3):
            fields = [
                slash_command(
                    f"greedy cat {round_}.{n}",
                    user="U0GREEDY",
                    channel=CHANNEL,
                    response_url=slack.response_url(f"q{round_}.{n}"),
                )
                for n in range(4)
            ]
            answers = await asyncio.gather(
                *((first, second)[n % 2].sender.command(f) for n, f in enumerate(fields))
            )
            texts += [answer.json()["text"] for answer in answers]
        await eventually(lambda: uploads(slack) == 3, 20)
        await asyncio.sleep(1)
    assert sum("Generating" in text for text in texts) == 3, texts
    assert len(gateway.requests) == 3
    assert uploads(slack) == 3


async def test_a_job_stopped_mid_share_is_reported_by_its_taker_not_shared_again(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    slack.share_delay = 8  # the share outlasts the shutdown grace (Slack still does it)
    settings = {"BANANA_SHUTDOWN_GRACE": "0.5"}
    async with replicas(2, gateway, slack, tmp_path, postgres_url, **settings) as (first, other):
        await ask(first, slack, "a cat caught sharing", "U0ALICE")
        await eventually(lambda: slack.calls_to("files.completeUploadExternal"), 20)
        assert await first.stop(signal.SIGTERM) == 0
        await eventually(lambda: "state=interrupted" in other.logs(), 20)
        await asyncio.sleep(slack.share_delay)
    assert len(gateway.requests) == 1  # never made again: it may have been shown
    assert len(slack.calls_to("files.completeUploadExternal")) == 1  # so never shared twice


async def test_a_job_stopped_mid_upload_is_made_again_by_its_taker_and_shared_once(
    gateway: GatewayStandIn, slack: SlackStandIn, tmp_path: Path, postgres_url: str
) -> None:
    slack.upload_delay = 30  # sending the bytes outlasts the shutdown grace: nothing shown
    settings = {"BANANA_SHUTDOWN_GRACE": "0.5"}
    async with replicas(2, gateway, slack, tmp_path, postgres_url, **settings) as (first, _):
        await ask(first, slack, "a cat caught uploading", "U0ALICE")
        await eventually(lambda: slack.calls_to("files.getUploadURLExternal"), 20)
        slack.upload_delay = 0
        assert await first.stop(signal.SIGTERM) == 0
        # Its images were in the stopped replica's spool: the other one makes them again.
        await eventually(lambda: uploads(slack) == 1, 20)
        await asyncio.sleep(1)
    assert len(gateway.requests) == 2
    assert uploads(slack) == 1
