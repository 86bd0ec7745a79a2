"""What a worker writes stays in its job folder: a link at result.npz, its .part, the
asset's .part or a subfolder is replaced or refused, never followed; the result path is
checked before any work; a stale .part goes; two workers cannot run one job."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from spectralsplats_addon.engine.atomic import open_new
from spectralsplats_addon.engine.errors import JobError
from spectralsplats_addon.engine.io import write_ply
from spectralsplats_addon.engine.job import load_job, write_job
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.worker import main as worker
from spectralsplats_addon.engine.worker.output import LOCK_FILE, JobLock
from spectralsplats_addon.engine.worker.run_job import run_job

from support.moving_clip import ROOT, MovingClip, worker_command, write_clip_job

ITERATIONS = 2


@pytest.fixture(scope="module")
def clip():
    return MovingClip(1)


@pytest.fixture(scope="module")
def movie(clip, tmp_path_factory):
    return clip.write_mp4(tmp_path_factory.mktemp("footage") / "plate.mp4")


@pytest.fixture
def job(clip, movie, tmp_path):
    return write_clip_job(tmp_path / "job", clip, movie, ITERATIONS)


@pytest.fixture
def victim(tmp_path):
    """A file outside the job folder that a link in it points at."""
    path = tmp_path / "elsewhere.npz"
    path.write_bytes(b"not yours")
    return path


@pytest.mark.parametrize("name", ["result.npz", "result.npz.part"])
def test_a_link_at_the_result_or_its_part_is_replaced_not_followed(job, victim, name):
    (job / name).symlink_to(victim)
    assert run_job(job, resume=False).complete
    assert victim.read_bytes() == b"not yours"
    assert not (job / "result.npz").is_symlink() and TrackResult.load(job / "result.npz")
    assert not (job / "result.npz.part").exists()


def test_a_result_folder_that_links_out_of_the_job_is_refused_before_work(job, tmp_path):
    (tmp_path / "out").mkdir()
    (job / "out").symlink_to(tmp_path / "out")
    data = (job / "job.json").read_text().replace('"result": "result.npz"',
                                                 '"result": "out/result.npz"')
    (job / "job.json").write_text(data)
    with pytest.raises(JobError, match="outputs.result: its folder is a link that leads out"):
        run_job(job)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_folder_at_the_result_path_is_refused_before_work(job):
    (job / "result.npz").mkdir()
    events = []
    with pytest.raises(JobError, match="outputs.result: .*result.npz is a folder"):
        run_job(job, callback=events.append)
    assert events == []


def test_a_missing_result_subfolder_is_made(job):
    data = (job / "job.json").read_text().replace('"result": "result.npz"',
                                                 '"result": "new/result.npz"')
    (job / "job.json").write_text(data)
    assert run_job(job).complete and (job / "new" / "result.npz").is_file()


def test_a_stale_part_is_removed(job):
    data = (job / "job.json").read_text().replace('"result": "result.npz"',
                                                 '"result": "out/deep/result.npz"')
    (job / "job.json").write_text(data)
    (job / "out" / "deep").mkdir(parents=True)
    (job / "out" / "deep" / "result.npz.part").write_bytes(b"half")
    assert run_job(job).complete
    assert sorted(p.name for p in (job / "out" / "deep").iterdir()) == ["result.npz"]


def test_links_at_the_asset_rig_and_job_files_are_replaced_not_followed(clip, job, victim):
    loaded = load_job(job)
    for name in ("asset.ply.part", "rig.npz", "job.json.part"):
        (job / name).unlink(missing_ok=True)
        (job / name).symlink_to(victim)
    write_job(job, loaded.job, loaded.splats, loaded.rig)
    assert victim.read_bytes() == b"not yours"
    assert not (job / "rig.npz").is_symlink() and load_job(job).rig.num_control_points == 16
    write_ply(job / "other.ply", loaded.splats)  # the writer alone
    assert victim.read_bytes() == b"not yours"


def test_open_new_replaces_a_link_instead_of_writing_through_it(tmp_path, victim):
    (tmp_path / "worker.log").symlink_to(victim)
    with open_new(tmp_path / "worker.log") as handle:
        handle.write(b"log")
    assert victim.read_bytes() == b"not yours"
    assert (tmp_path / "worker.log").read_bytes() == b"log"


def test_a_second_worker_on_a_running_job_exits_2_naming_the_lock(job):
    before = (job / "job.json").read_bytes()
    with JobLock(job):
        done = subprocess.run(worker_command(job), capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
    assert done.returncode == worker.EXIT_INVALID, done.stderr
    assert f"{LOCK_FILE}: another worker (process " in done.stdout
    assert not (job / "result.npz").exists() and (job / "job.json").read_bytes() == before
    (job / LOCK_FILE).write_text("12345\n")  # as a killed worker leaves it: not held
    assert run_job(job).complete
    assert not (job / LOCK_FILE).exists()
    np.testing.assert_array_equal(TrackResult.load(job / "result.npz").frames, [101])


def test_a_damaged_result_to_resume_is_a_problem_at_outputs_result(job):
    (job / "result.npz").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(JobError, match="outputs.result: cannot be resumed: .*BadZipFile"):
        run_job(job)
    assert run_job(job, resume=False).complete  # starting again replaces it


def test_a_failed_write_keeps_the_old_file_and_leaves_no_part(tmp_path):
    """As a full disk does: the error surfaces, the old result stays, no .part is left."""
    import errno

    from spectralsplats_addon.engine.atomic import atomic_file

    (tmp_path / "result.npz").write_bytes(b"old")
    with pytest.raises(OSError, match="No space left"):
        with atomic_file(tmp_path / "result.npz") as handle:
            handle.write(b"new, half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (tmp_path / "result.npz").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz"]
