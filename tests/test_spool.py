"""The spool: made images on disk until Slack has them — whole or not at all,
read back as they were, capped, and cleaned."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.generation.images import identify
from bot.jobs.outcomes import Delivered, Made
from bot.jobs.spool import Spool, SpoolFull, SpoolUnusable
from tests.conftest import png_claiming

DELIVERY = Delivered(
    images=2, elapsed=12.5, made=(Made("log-1", "a cat"),), version=3, input_names=("in.png",)
)


def images() -> list:
    return [identify(png_claiming(640, 480)), identify(png_claiming(32, 64))]


def test_what_is_saved_reads_back_as_it_was(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1024**2)
    spool.open(keep=set())
    spool.save("job1", images(), DELIVERY)
    spooled = spool.load("job1")
    assert spooled is not None
    assert [(i.width, i.height, bytes(i.data)) for i in spooled.images] == [
        (i.width, i.height, bytes(i.data)) for i in images()
    ]
    assert (spooled.delivery.made, spooled.delivery.version) == (DELIVERY.made, 3)
    assert spooled.delivery.input_names == ("in.png",)
    assert spooled.delivery.elapsed == 12.5
    assert spool.jobs() == 1
    assert spool.size() > 0
    spool.discard("job1")
    assert spool.load("job1") is None
    assert (spool.jobs(), spool.size()) == (0, 0)


def test_past_its_cap_the_spool_refuses_and_says_which_setting(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 2 * 1024**2)
    spool.open(keep=set())
    big = identify(png_claiming(10, 10) + b"\0" * (1024**2 + 1))
    spool.save("job1", [big], DELIVERY)
    with pytest.raises(SpoolFull, match="BANANA_SPOOL_MAX_MB \\(2 MB\\)"):
        spool.save("job2", [big], DELIVERY)
    assert spool.load("job2") is None
    assert spool.jobs() == 1


def test_on_start_half_written_and_finished_jobs_are_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1024**2)
    spool.open(keep=set())
    for job in ("waiting", "delivered"):
        spool.save(job, images(), DELIVERY)
    (spool.root / ".tmp-crashed").mkdir()
    (spool.root / ".tmp-crashed" / "0.png").write_bytes(b"half")
    spool.open(keep={"waiting"})
    assert sorted(p.name for p in spool.root.iterdir()) == ["waiting"]


def test_an_unreadable_spooled_job_reads_as_none(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1024**2)
    spool.open(keep=set())
    spool.save("job1", images(), DELIVERY)
    (spool.root / "job1" / "0.png").write_bytes(b"not an image")
    assert spool.load("job1") is None


def test_a_spool_that_cannot_be_created_says_which_setting(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(SpoolUnusable, match=r"^BANANA_SPOOL=.*a-file/spool: cannot create"):
        Spool(tmp_path / "a-file" / "spool", 1024**2).open(keep=set())
