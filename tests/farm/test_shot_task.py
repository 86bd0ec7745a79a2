"""One shot as one farm task, without an engine: the worker's exit code becomes a result, an
error not to retry (bad input, with the worker's message) or one to retry (a job another
worker still holds, as an earlier attempt may while it saves its partial result)."""

from __future__ import annotations

import json

import pytest

from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.worker.output import JobLock
from spectralsplats_addon.farm import ShotInterrupted, ShotInvalid, track_shot

from support.moving_clip import MovingClip, write_clip_job


@pytest.fixture(scope="module")
def clip():
    return MovingClip(2)


@pytest.fixture(scope="module")
def movie(clip, tmp_path_factory):
    return clip.write_mp4(tmp_path_factory.mktemp("footage") / "plate.mp4")


def events(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "farm.log").read_text().splitlines()]


def test_a_complete_shot_and_its_log(clip, movie, tmp_path):
    folder = write_clip_job(tmp_path / "shot", clip, movie, iterations=4)
    outcome = track_shot(folder)
    assert outcome.frames_done == 2 and outcome.resumed_frames == 0
    assert TrackResult.load(folder / "result.npz").complete
    logged = events(folder)
    assert logged[0]["event"] == "attempt" and logged[1]["event"] == "started"
    assert logged[-1]["event"] == "finished" and logged[-1]["complete"] is True


def test_bad_input_is_not_to_be_retried_and_carries_the_message(clip, movie, tmp_path):
    folder = write_clip_job(tmp_path / "shot", clip, movie, iterations=4)
    data = json.loads((folder / "job.json").read_text())
    data["frames"][1]["source"]["index"] = -1
    (folder / "job.json").write_text(json.dumps(data))
    with pytest.raises(ShotInvalid) as caught:
        track_shot(folder)
    assert "frames[1].source.index" in caught.value.message
    assert "bad input, not retried" in str(caught.value)
    assert not (folder / "result.npz").exists()


def test_a_job_held_by_another_worker_is_to_be_retried(clip, movie, tmp_path):
    folder = write_clip_job(tmp_path / "shot", clip, movie, iterations=4)
    with JobLock(folder):
        with pytest.raises(ShotInterrupted, match="job.lock: another worker"):
            track_shot(folder)
    assert track_shot(folder).frames_done == 2  # the lock gone, the retry runs
    assert [e["event"] for e in events(folder)].count("attempt") == 2
