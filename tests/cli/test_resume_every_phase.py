"""Resume is exact from any stop: a run stopped at each progress phase of each frame (the
first frame's alignment, its spectral and spatial steps, a later frame) and run again ends
where an uninterrupted run does."""

from __future__ import annotations

import numpy as np
import pytest

from spectralsplats_addon.engine.progress import CancelToken
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.worker.run_job import run_job

from support.moving_clip import MovingClip, write_clip_job

ITERATIONS = 6


@pytest.fixture(scope="module")
def clip():
    return MovingClip(2)


@pytest.fixture(scope="module")
def movie(clip, tmp_path_factory):
    return clip.write_mp4(tmp_path_factory.mktemp("footage") / "plate.mp4")


def stop_points(events: list[dict]) -> list[tuple[int, str, int]]:
    """(frame index, phase, iteration) of the first progress event of each phase of each
    frame (a stop after a frame's last step finishes that frame)."""
    progress = [(e["index"], e["phase"], e["iteration"]) for e in events
                if e["event"] == "progress"]
    firsts = {}
    for point in progress:
        firsts.setdefault(point[:2], point)
    return [point for point in firsts.values() if point[2] + 1 < ITERATIONS]


def stopped_at(point):
    token = CancelToken()

    def callback(event):
        if event["event"] == "progress" and \
                (event["index"], event["phase"], event["iteration"]) == point:
            token.cancel()
    return token, callback


@pytest.mark.parametrize("model", ["direct", "rigid", "mlp"])
def test_a_run_stopped_at_any_phase_resumes_to_the_uninterrupted_result(clip, movie, tmp_path,
                                                                       model):
    events = []
    whole = run_job(write_clip_job(tmp_path / "whole", clip, movie, ITERATIONS, model),
                    callback=events.append)
    points = stop_points(events)
    assert {p[1] for p in points} >= ({"align", "spectral"} if model != "rigid"
                                      else {"spectral"})
    for n, point in enumerate(points):
        folder = write_clip_job(tmp_path / f"stop{n}", clip, movie, ITERATIONS, model)
        token, callback = stopped_at(point)
        cut = run_job(folder, callback=callback, cancel=token)
        assert not cut.complete, point
        assert not TrackResult.load(folder / "result.npz").complete, point
        resumed = run_job(folder)
        assert resumed.complete, point
        for name in ("rotations", "translations", "object_matrices"):
            np.testing.assert_allclose(getattr(resumed, name), getattr(whole, name),
                                       atol=1e-6, rtol=0, err_msg=f"{name} after {point}")


def test_a_stop_before_tracking_starts_leaves_a_loadable_empty_result_to_resume(
        clip, movie, tmp_path):
    """A signal while the worker loads (torch, the job): started then finished, no step, an
    empty partial result that the next run resumes from the first frame."""
    folder = write_clip_job(tmp_path / "early", clip, movie, ITERATIONS)
    token, events = CancelToken(), []
    token.cancel()
    cut = run_job(folder, callback=events.append, cancel=token)
    assert [e["event"] for e in events] == ["started", "finished"]
    assert not cut.complete and cut.num_frames == 0
    saved = TrackResult.load(folder / "result.npz")
    assert not saved.complete and saved.num_frames == 0
    assert saved.num_control_points == 16
    assert run_job(folder).complete
