"""The shots of a batch: job folders, folders of them, shot lists; every bad path reported
before anything runs, and the batch command's bad options (exit 2, naming the option)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from spectralsplats_addon.farm import ShotListError, find_shots

from support.moving_clip import ROOT


def job_folder(path):
    path.mkdir(parents=True)
    (path / "job.json").write_text("{}")
    return path


def test_job_folders_a_folder_of_them_and_a_shot_list(tmp_path):
    a, b = job_folder(tmp_path / "shots" / "a"), job_folder(tmp_path / "shots" / "b")
    (tmp_path / "shots" / "notes").mkdir()
    c = job_folder(tmp_path / "other" / "c")
    listed = tmp_path / "list.txt"
    listed.write_text("# the pickups\nother/c   # one shot\n\n")
    assert find_shots([tmp_path / "shots", listed]) == [a.resolve(), b.resolve(), c.resolve()]
    assert find_shots([c / "job.json"]) == [c.resolve()]


def test_every_bad_path_is_reported_at_once(tmp_path):
    a = job_folder(tmp_path / "a")
    (tmp_path / "empty").mkdir()
    listed = tmp_path / "list.txt"
    listed.write_text("a\nmissing\n")
    with pytest.raises(ShotListError) as caught:
        find_shots([a, tmp_path / "nowhere", tmp_path / "empty", listed, tmp_path / "a"])
    paths = [path for path, _ in caught.value.problems]
    assert paths == [str(tmp_path / "nowhere"), str(tmp_path / "empty"), str(listed),
                     str(tmp_path / "a")]
    message = str(caught.value)
    assert "nowhere: not found; name a job folder" in message
    assert "no job.json in this folder" in message
    assert "line 2:" in message and "missing holds no job.json" in message
    assert "is already in the batch" in message
    with pytest.raises(ShotListError, match="no shot given"):
        find_shots([])


@pytest.mark.parametrize("options, named", [
    (["--retries", "-1"], "--retries: expected 0 or more, got -1"),
    (["--cpus-per-shot", "0"], "--cpus-per-shot: expected a number above 0"),
    (["--local-cpus", "2", "--address", "auto"], "--local-cpus applies to the local cluster"),
])
def test_bad_options_exit_2_naming_the_option(tmp_path, options, named):
    a = job_folder(tmp_path / "a")
    done = subprocess.run([sys.executable, "-m", "spectralsplats_addon", "batch", str(a),
                           *options], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and named in done.stderr


def test_bad_shot_paths_exit_2_before_anything_runs(tmp_path):
    """docs/farm.md's example, word for word."""
    (tmp_path / "shots" / "sh020").mkdir(parents=True)
    (tmp_path / "list.txt").write_text("shots/sh020\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "spectralsplats_addon", "batch",
                           "shots/sh010", "list.txt"], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "spectralsplats batch: 2 shot path(s) cannot be used; fix them and run the batch "
        "again:",
        "shots/sh010: not found; name a job folder, a folder of job folders or a shot list",
        "list.txt: line 1: shots/sh020 holds no job.json (1 line(s) like this); each line "
        "names a job folder, relative to the list"]
