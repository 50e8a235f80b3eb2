"""The spool: made images on disk until Slack has them — whole or not at all,
read back as they were, capped, and cleaned."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.generation.images import GeneratedImage, identify, identify_file
from bot.jobs.outcomes import Delivered, Made
from bot.jobs.spool import MANIFEST, Spool, SpoolFull, SpoolUnusable
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
    assert [(i.width, i.height, bytes(i.read())) for i in spooled.images] == [
        (i.width, i.height, bytes(i.read())) for i in images()
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
    assert sorted(p.name for p in spool.root.iterdir()) == [".incoming", "waiting"]


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


def scratch_image(spool: Spool, name: str, data: bytes) -> GeneratedImage:
    """An image as the gateway client leaves it: decoded into the spool's incoming folder."""
    path = spool.incoming / name
    path.write_bytes(data)
    return identify_file(path)


def test_a_decoded_file_is_taken_by_the_spool_not_written_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1024**2)
    spool.open(keep=set())
    data = png_claiming(640, 480)
    image = scratch_image(spool, "a.part", data)
    assert image.path is not None
    inode = image.path.stat().st_ino
    (saved,) = spool.save("job1", [image], DELIVERY)
    assert not image.path.exists()
    assert saved.path == spool.root / "job1" / "0.png"
    assert saved.data is None
    assert saved.path.stat().st_ino == inode, "the same file, moved: no second write"
    spooled = spool.load("job1")
    assert spooled is not None
    (loaded,) = spooled.images
    assert loaded.data is None, "read back as a file, not bytes"
    assert loaded.path == saved.path
    assert (loaded.width, loaded.height, loaded.path.read_bytes()) == (640, 480, data)
    assert (spool.jobs(), spool.size()) == (
        1,
        len(data) + (spool.root / "job1" / MANIFEST).stat().st_size,
    )


def test_a_save_that_fails_leaves_the_decoded_files_where_they_were(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1024**2)
    spool.open(keep=set())
    first = scratch_image(spool, "a.part", png_claiming(10, 10))
    gone = scratch_image(spool, "b.part", png_claiming(20, 20))
    assert gone.path is not None
    gone.path.unlink()  # vanished before the spool took it
    with pytest.raises(FileNotFoundError):
        spool.save("job1", [first, gone], DELIVERY)
    assert first.path is not None
    assert first.path.exists()
    assert spool.jobs() == 0
    assert spool.load("job1") is None
    with pytest.raises(SpoolFull):
        Spool(spool.root, 1).save("job2", [first], DELIVERY)
    assert first.path.exists()


def test_on_start_decoded_files_of_dead_processes_are_swept_not_a_live_ones(
    tmp_path: Path,
) -> None:
    live = Spool(tmp_path / "spool", 1024**2)
    live.open(keep=set())
    kept = scratch_image(live, "being-made.part", png_claiming(10, 10))
    dead = tmp_path / "spool" / ".incoming" / "a-dead-process"
    dead.mkdir()
    (dead / "half.part").write_bytes(b"half an image")
    starting = Spool(tmp_path / "spool", 1024**2)
    starting.open(keep=set())
    assert not dead.exists()
    assert kept.path is not None
    assert kept.path.exists(), "another process's call in flight"
    assert starting.incoming.is_dir()
    assert starting.incoming != live.incoming
    assert (starting.jobs(), starting.size()) == (0, 0), "calls in flight are not spooled jobs"
