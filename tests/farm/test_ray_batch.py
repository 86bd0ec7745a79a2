"""Three small shots on a local Ray cluster at once, as `spectralsplats batch` runs them: one
shot's worker is killed mid-shot and Ray retries it (it resumes from its saved frames), one
has bad input (run once, its message shown); the results equal each shot tracked alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.worker.run_job import run_job

from support.moving_clip import ROOT, MovingClip, write_clip_job

pytest.importorskip("ray", reason="the farm engine: install the project's farm extra "
                                  "(pip install -e \".[farm]\"; make test does)")

SHOTS = {"a": dict(iterations=12, seed=1), "b": dict(iterations=40, seed=2),
         "c": dict(iterations=12, seed=3)}


def worker_pids(folder: Path) -> list[int]:
    """The tracker processes running on ``folder`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"spectralsplats_addon.engine.worker" in args and str(folder).encode() in args:
            pids.append(int(entry.name))
    return pids


def package_env() -> dict:
    """This checkout's package first on the path, for the batch and Ray's processes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def attempts(folder: Path) -> list[dict]:
    lines = (folder / "farm.log").read_text().splitlines()
    return [json.loads(line) for line in lines if '"event": "attempt"' in line]


@pytest.fixture(scope="module")
def clip():
    return MovingClip(3)


@pytest.fixture(scope="module")
def movie(clip, tmp_path_factory):
    return clip.write_mp4(tmp_path_factory.mktemp("footage") / "plate.mp4")


@pytest.mark.slow
def test_three_shots_at_once_one_killed_and_retried_one_invalid(clip, movie, tmp_path):
    shots = {name: write_clip_job(tmp_path / "shots" / name, clip, movie, **kw)
             for name, kw in SHOTS.items()}
    bad = json.loads((shots["c"] / "job.json").read_text())
    bad["settings"]["modle"] = "direct"
    (shots["c"] / "job.json").write_text(json.dumps(bad))
    batch = subprocess.Popen(  # as docs/farm.md shows it
        [sys.executable, "-m", "spectralsplats_addon", "batch", "shots/", "--local-cpus", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=package_env())
    # Kill shot b's tracker once its first frame is saved (a partial result).
    killed, deadline = None, time.monotonic() + 240
    while killed is None and time.monotonic() < deadline and batch.poll() is None:
        pids = worker_pids(shots["b"])
        if pids and (shots["b"] / "result.npz").exists():
            os.kill(pids[0], signal.SIGKILL)
            killed = TrackResult.load(shots["b"] / "result.npz")
        time.sleep(0.05)
    out, err = batch.communicate(timeout=300)
    assert killed is not None, err
    assert not killed.complete and 1 <= killed.num_frames < 3

    assert batch.returncode == 3, err
    outcomes = {Path(o["folder"]).name: o for o in map(json.loads, out.splitlines())}
    assert outcomes["a"]["frames_done"] == 3 and outcomes["a"]["resumed_frames"] == 0
    assert outcomes["b"]["frames_done"] == 3
    assert outcomes["b"]["resumed_frames"] == killed.num_frames  # resumed, not started over
    assert outcomes["c"]["retried"] is False
    assert "settings.modle: unknown field" in outcomes["c"]["message"]
    assert "settings.modle: unknown field" in err and "invalid" in err
    assert "2 of 3 shots complete" in err
    # Ray ran b twice (the kill, then the retry) and the bad shot once.
    assert [len(attempts(shots[name])) for name in "abc"] == [1, 2, 1]
    assert not (shots["c"] / "result.npz").exists()
    assert not any(p.name.endswith(".part") for s in shots.values() for p in s.iterdir())

    # Each shot alone, same seed, gives the same arrays.
    for name in "ab":
        alone = run_job(write_clip_job(tmp_path / "alone" / name, clip, movie, **SHOTS[name]))
        farm = TrackResult.load(shots[name] / "result.npz")
        assert farm.complete and list(farm.frames) == list(alone.frames)
        np.testing.assert_allclose(farm.rotations, alone.rotations, atol=1e-5, rtol=0)
        np.testing.assert_allclose(farm.translations, alone.translations, atol=1e-5, rtol=0)
