"""The job core on its own: the runner and its pipeline against the gateway
stand-in (real HTTP) and a real journal, with a publisher that records what it
is asked to say. In-process and fast; the end-to-end suites prove the rest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.generation import Declined, GenerationClient
from bot.jobs import InputFile, Job, JobRunner, Journal, Limits, StatusRef
from bot.jobs.outcomes import (
    Cancelled,
    Delivered,
    Failed,
    InputUnreadable,
    Interrupted,
    Outcome,
    Paused,
    UploadRefused,
)
from bot.jobs.spool import Spool
from bot.options import ImageOptions
from bot.preview import render_noise_png
from bot.standins.gateway import GatewayStandIn
from tests.fakes import RecordingPublisher
from tests.harness import eventually


@dataclass
class Core:
    runner: JobRunner
    journal: Journal
    publisher: RecordingPublisher

    async def admit(self, job: Job) -> None:
        decision = await self.journal.admit(job, [job.key], Limits(max_queued_per_user=10))
        assert decision.admission.value == "accepted"
        self.runner.submit(job)

    async def outcome(self, job: Job) -> Outcome:
        found = await eventually(lambda: [o for j, _, o in self.publisher.outcomes if j == job.id])
        return found[0]


def a_job(prompt: str = "a cat", *, user: str = "U1", count: int = 1, **extra: object) -> Job:
    return Job(
        key=f"k-{prompt}-{user}-{count}",
        user=user,
        channel="C1",
        prompt=prompt,
        options=ImageOptions("16:9", "1K", count),
        source="command",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def core(make_client: Callable[..., GenerationClient], tmp_path: Path) -> AsyncIterator[Core]:
    journal = await Journal.open(tmp_path / "journal.db")
    publisher = RecordingPublisher()
    runner = JobRunner(make_client(), publisher, journal, workers=2, tick_seconds=0.05)
    runner.start()
    yield Core(runner, journal, publisher)
    await runner.close(grace=1.0)
    await journal.close()


async def test_a_job_is_delivered_as_data_and_journaled(core: Core) -> None:
    job = a_job(count=2)
    await core.admit(job)
    outcome = await core.outcome(job)
    assert isinstance(outcome, Delivered)
    assert outcome.images == 2
    assert len(outcome.made) == 2
    assert not outcome.failures
    (_, uploaded, _) = core.publisher.delivered[0]
    assert uploaded == 2
    entry = await core.journal.get(job.id)
    assert entry is not None
    assert entry.state == "delivered"
    assert entry.file_ids == (f"F{job.id}-0", f"F{job.id}-1")
    states = [view.state for j, view in core.publisher.statuses if j == job.id]
    assert states[0] == "queued"


async def test_a_refusal_is_a_failure_the_publisher_can_offer_to_rephrase(core: Core) -> None:
    job = a_job("a thing the model will not draw [standin:safety]")
    await core.admit(job)
    outcome = await core.outcome(job)
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, Declined)
    assert outcome.declined
    entry = await core.journal.get(job.id)
    assert entry is not None
    assert entry.state == "failed"


async def test_an_image_that_cannot_be_fetched_fails_the_job_before_any_gateway_call(
    core: Core, gateway: GatewayStandIn
) -> None:
    job = a_job("make it night", inputs=("F404",))
    await core.admit(job)
    outcome = await core.outcome(job)
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, InputUnreadable)
    assert outcome.error.code == "file_not_found"
    assert not gateway.requests


async def test_an_attached_image_goes_to_the_gateway(core: Core, gateway: GatewayStandIn) -> None:
    core.publisher.inputs["F1"] = InputFile("photo.png", render_noise_png(64, 48))
    job = a_job("make it night", inputs=("F1",))
    await core.admit(job)
    outcome = await core.outcome(job)
    assert isinstance(outcome, Delivered)
    assert outcome.input_names == ("photo.png",)
    assert gateway.requests[0].inputs == 1


async def test_an_upload_the_platform_refuses_is_a_failure_with_its_code(core: Core) -> None:
    core.publisher.refuse_upload = "invalid_arguments"
    job = a_job()
    await core.admit(job)
    outcome = await core.outcome(job)
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, UploadRefused)
    assert outcome.error.code == "invalid_arguments"


async def test_a_status_that_cannot_be_opened_is_said_and_nothing_is_made(
    core: Core, gateway: GatewayStandIn
) -> None:
    core.publisher.refuse_status = True
    job = a_job()
    await core.admit(job)
    await eventually(lambda: core.publisher.not_started_jobs == [job.id])
    entry = await core.journal.get(job.id)
    assert entry is not None
    assert entry.state == "failed"
    assert not gateway.requests


async def test_neither_generation_nor_delivery_waits_for_a_slow_status_line(
    core: Core, gateway: GatewayStandIn
) -> None:
    core.publisher.status_delay = 2.5
    job = a_job()
    await core.admit(job)
    await eventually(lambda: gateway.requests, limit=1.8)  # before the status line is up
    await eventually(lambda: core.publisher.delivered, limit=2.3)
    assert core.publisher.delivered_to == [None], "posted where the job was asked"
    assert not core.publisher.outcomes
    outcome = await core.outcome(job)
    assert isinstance(outcome, Delivered)
    (_, ref, _) = core.publisher.outcomes[0]
    assert ref == StatusRef("C1", f"ts-{job.id}", None), "the status line became its card"


async def test_a_status_line_refused_late_drops_what_was_made_and_charges_nothing(
    core: Core, gateway: GatewayStandIn
) -> None:
    core.publisher.status_delay, core.publisher.refuse_status = 1.5, True
    gateway.latency = 1.0  # still generating when Slack refuses the line
    job = a_job(count=2)
    await core.admit(job)
    await eventually(lambda: core.publisher.not_started_jobs == [job.id])
    assert gateway.requests, "the head start ran out: generation had begun"
    assert not core.publisher.delivered
    assert not core.publisher.outcomes
    entry = await core.journal.get(job.id)
    assert entry is not None
    assert entry.state == "failed"
    assert (await core.journal.usage("U1")).images_today == 0


async def test_queued_jobs_are_cancelled_and_running_ones_finish(
    core: Core, gateway: GatewayStandIn
) -> None:
    gateway.latency = 0.5
    first, second, third = (a_job(f"cat {n}") for n in range(3))
    for job in (first, second, third):
        await core.admit(job)
    await eventually(lambda: len(gateway.requests) == 2)
    assert await core.runner.cancel_queued("U1") == 1
    assert isinstance(await core.outcome(third), Cancelled)
    assert isinstance(await core.outcome(first), Delivered)
    assert isinstance(await core.outcome(second), Delivered)


async def test_shutdown_pauses_waiting_jobs_and_keeps_them_queued(
    core: Core, gateway: GatewayStandIn
) -> None:
    gateway.latency = 0.5
    jobs = [a_job(f"dog {n}") for n in range(3)]
    for job in jobs:
        await core.admit(job)
    await eventually(lambda: len(gateway.requests) == 2)
    await core.runner.close(grace=2.0)
    assert isinstance(await core.outcome(jobs[2]), Paused)
    entry = await core.journal.get(jobs[2].id)
    assert entry is not None
    assert entry.state == "queued"


async def test_recovery_resumes_young_jobs_and_reports_old_ones(
    make_client: Callable[..., GenerationClient], tmp_path: Path
) -> None:
    previous = await Journal.open(tmp_path / "journal.db")  # the run that left them
    publisher = RecordingPublisher()
    young = a_job("young")
    old = a_job("old", created_at=1.0)
    for job in (young, old):
        await previous.admit(job, [job.key], Limits())
    await previous.close()
    journal = await Journal.open(tmp_path / "journal.db")
    runner = JobRunner(make_client(), publisher, journal, workers=1, resume_within=600)
    runner.start()
    try:
        assert await runner.recover() == 1
        await eventually(lambda: len(publisher.outcomes) == 2)
        outcomes = {job_id: outcome for job_id, _, outcome in publisher.outcomes}
        reported = outcomes[old.id]
        assert isinstance(reported, Interrupted)
        assert reported.age > 600
        assert isinstance(outcomes[young.id], Delivered)
    finally:
        await runner.close(grace=1.0)
        await journal.close()


def test_the_job_core_builds_no_user_text_and_knows_no_slack() -> None:
    """The job core hands data to the publisher: no module of it imports the text catalog."""
    root = Path(__file__).resolve().parent.parent / "bot" / "jobs"
    for module in root.glob("*.py"):
        source = module.read_text()
        assert "bot.text" not in source, module.name
        assert "bot.slack" not in source, module.name


async def test_an_upload_slack_cannot_take_now_is_retried_and_delivered_once(core: Core) -> None:
    core.publisher.upload_outage = ["http_503", "ratelimited", "unreachable"]
    job = a_job("a patient cat")
    await core.admit(job)
    outcome = await core.outcome(job)
    assert isinstance(outcome, Delivered)
    assert len(core.publisher.delivered) == 1
    assert [v.state for j, v in core.publisher.statuses if j == job.id].count("spooled") == 3
    entry = await core.journal.get(job.id)
    assert entry is not None
    assert entry.state == "delivered"


async def test_a_spooled_job_whose_spool_is_gone_is_generated_again(
    make_client: Callable[..., GenerationClient], gateway: GatewayStandIn, tmp_path: Path
) -> None:
    previous = await Journal.open(tmp_path / "journal.db")  # the run that made it
    publisher = RecordingPublisher()
    job = a_job("a cat made before a lost disk")
    await previous.admit(job, [job.key], Limits())
    await previous.update(job.id, status_channel="C1", status_ts="1.0")
    await previous.start_upload(job.id, "C1", None, ["log-1"])  # journaled as spooled
    await previous.close()
    journal = await Journal.open(tmp_path / "journal.db")
    spool = Spool(tmp_path / "spool", 1024**2)  # …but its images are not there
    runner = JobRunner(make_client(), publisher, journal, workers=1, spool=spool)
    runner.start()
    try:
        assert await runner.recover() == 1
        await eventually(lambda: publisher.outcomes)
        assert isinstance(publisher.outcomes[0][2], Delivered)
        assert len(gateway.requests) == 1
    finally:
        await runner.close(grace=1.0)
        await journal.close()


async def test_past_the_spools_cap_an_image_is_delivered_from_memory(
    make_client: Callable[..., GenerationClient],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = await Journal.open(tmp_path / "journal.db")
    publisher = RecordingPublisher(upload_outage=["http_503"])
    spool = Spool(tmp_path / "spool", 1)  # one byte: nothing fits
    runner = JobRunner(make_client(), publisher, journal, workers=1, spool=spool)
    runner.start()
    await runner.recover()
    job = a_job("a cat too big to spool")
    try:
        await journal.admit(job, [job.key], Limits())
        runner.submit(job)
        await eventually(lambda: publisher.outcomes)
        assert isinstance(publisher.outcomes[0][2], Delivered)
        assert "not spooled, not kept across a restart" in caplog.text
        assert "BANANA_SPOOL_MAX_MB" in caplog.text
        assert spool.jobs() == 0
        assert list(spool.incoming.iterdir()) == []
    finally:
        await runner.close(grace=1.0)
        await journal.close()


async def test_a_status_ticker_stops_when_cancelled_even_as_the_job_moves() -> None:
    """Python 3.11's ``wait_for`` returns, swallowing the cancel, when what it waits for
    completes in the same turn: the ticker then never stopped and its job hung."""
    from bot.jobs.progress import Progress

    progress = Progress()
    waiting = asyncio.create_task(progress.moved(within=10))
    await asyncio.sleep(0)
    progress.state = "running"  # the job moves on...
    waiting.cancel()  # ...as its pipeline stops the ticker
    with pytest.raises(asyncio.CancelledError):
        await waiting
