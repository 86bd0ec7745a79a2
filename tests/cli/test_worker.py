"""The worker process: events on stdout, exit codes, a signal stops it with a partial result
that a second run resumes to the uninterrupted result, invalid jobs and crashes.
The clip and its job folder: tests/support/moving_clip.py."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.progress import CancelToken
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.worker import main as worker
from spectralsplats_addon.engine.worker.run_job import run_job
from support.moving_clip import (ALIGN_ITERATIONS, FIRST_FRAME, ROOT, VIEW, MovingClip,
                                 worker_command, write_clip_job)

def read_events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def clip():
    return MovingClip(3)


@pytest.fixture(scope="module")
def movie(clip, tmp_path_factory):
    return clip.write_mp4(tmp_path_factory.mktemp("footage") / "plate.mp4")


def test_a_job_runs_to_completion_with_events_in_order(clip, movie, tmp_path):
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=12)
    done = subprocess.run(worker_command(folder), capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == worker.EXIT_COMPLETE, done.stderr
    events = read_events(done.stdout)   # every stdout line is one JSON event
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert events[0]["device"] == "cpu" and events[0]["resumed_frames"] == 0
    assert events[0]["frames"] == 3 and events[0]["model"] == "direct"
    assert events[0]["job"] == str(folder.resolve())
    frames = [FIRST_FRAME + i for i in range(3)]
    assert [e["frame"] for e in events if e["event"] == "frame_started"] == frames
    finished = [e for e in events if e["event"] == "frame_finished"]
    assert [e["frame"] for e in finished] == frames
    progress = [e for e in events if e["event"] == "progress" and e["phase"] != "align"]
    align = [e for e in events if e.get("phase") == "align"]
    # how the plate is compared comes before any step: no alpha, no matte, no clean plate
    # and three frames (too few to estimate the background from): the raw plate, with the
    # warning and the colour transform on
    plate = events[1]
    assert plate["event"] == "plate" and (plate["background"], plate["appearance"],
                                          plate["alpha"]) == ("colour", "clip", False)
    assert "neither a matte nor a clean plate" in plate["warning"] and \
        "too short to estimate its background" in plate["warning"]
    # the rigid alignment first: before frame_started, frame 0, no share of the job
    assert kinds[2:2 + len(align)] == ["progress"] * len(align)
    assert [(e["iteration"], e["iterations"]) for e in (align[0], align[-1])] == \
        [(0, ALIGN_ITERATIONS), (ALIGN_ITERATIONS - 1, ALIGN_ITERATIONS)]
    assert {(e["frame"], e["fraction"]) for e in align} == {(FIRST_FRAME, 0.0)}
    # the first and last step of every frame are reported; fraction rises to 1
    assert [(e["index"], e["iteration"]) for e in progress if e["iteration"] in (0, 11)] == \
        [(i, it) for i in range(3) for it in (0, 11)]
    assert np.all(np.diff([e["fraction"] for e in progress]) > 0)
    assert progress[-1]["fraction"] == 1.0 and progress[-1]["eta_seconds"] == 0.0
    assert {"total", "spectral"} <= set(progress[0]["losses"])
    times = [e["time"] for e in events]
    assert times == sorted(times)
    result = TrackResult.load(folder / "result.npz")
    assert result.complete and result.frames.tolist() == frames
    assert events[-1] == {**events[-1], "complete": True, "frames_done": 3,
                          "result": str((folder / "result.npz").resolve())}
    appearance = events[-1]["appearance"]  # the last frame's colour transform
    assert appearance["mode"] == "clip" and len(appearance["gain"]) == 3
    np.testing.assert_allclose(appearance["gain"], result.extra["appearance.gain"][-1],
                               atol=1e-4)
    np.testing.assert_allclose([e["psnr"] for e in finished], result.psnr, rtol=1e-6)
    np.testing.assert_allclose([e["loss"] for e in finished], result.losses, rtol=1e-6)


def test_the_tracked_motion_follows_the_clip(clip, movie, tmp_path):
    """In-process run_job: the control points move with the object (the shift of each frame,
    object-local) and the renders match the footage better than the rest pose does."""
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=60)
    result = run_job(folder)
    mean_shift = result.translations.mean(axis=1)  # [F, 3]
    expected = torch.stack(clip.shifts).numpy()
    across = np.eye(3) - np.outer(VIEW, VIEW)  # the motion across the view, depth left out
    error = np.linalg.norm((mean_shift - expected) @ across, axis=1)
    assert (error < 0.2 * np.linalg.norm(expected, axis=1)).all(), (mean_shift, expected)
    # measured: 43.3, 36.1, 34.9 dB; the rest pose 26.7, 21.7, 19.2 dB
    assert (result.psnr > 33.0).all(), result.psnr


def start_worker(folder, *extra) -> subprocess.Popen:
    return subprocess.Popen(worker_command(folder, *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def wait_for(process: subprocess.Popen, kind: str, timeout: float = 60.0) -> list[dict]:
    """Events read until the first of ``kind`` (inclusive)."""
    events, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        events.append(json.loads(line))
        if events[-1]["event"] == kind:
            return events
    process.kill()
    raise AssertionError(f"no {kind} event; got {events}; stderr: {process.stderr.read()}")


def test_a_signal_stops_the_worker_and_a_second_run_resumes(clip, movie, tmp_path):
    """SIGTERM here; SIGINT goes through the same handler (tests/cli/test_cli_track.py
    sends it to `spectralsplats track`)."""
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=50, seed=3)
    process = start_worker(folder)
    wait_for(process, "frame_finished")
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)  # exit 4 below, not 0, shows the signal was honoured
    rest = read_events(process.stdout.read())
    assert process.returncode == worker.EXIT_STOPPED, process.stderr.read()
    assert rest[-1]["event"] == "finished" and rest[-1]["complete"] is False
    partial = TrackResult.load(folder / "result.npz")
    assert not partial.complete and 1 <= partial.num_frames < 3
    assert rest[-1]["frames_done"] == partial.num_frames

    second = subprocess.run(worker_command(folder), capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert second.returncode == worker.EXIT_COMPLETE, second.stderr
    events = read_events(second.stdout)
    assert events[0]["resumed_frames"] == partial.num_frames
    # the alignment runs again (it is deterministic); the fraction stays where the first left
    align = [e for e in events if e.get("phase") == "align"]
    assert align and {e["fraction"] for e in align} == {round(partial.num_frames / 3, 6)}
    assert [e["frame"] for e in events if e["event"] == "frame_started"] == \
        [FIRST_FRAME + i for i in range(partial.num_frames, 3)]
    resumed = TrackResult.load(folder / "result.npz")
    assert resumed.complete and resumed.num_frames == 3

    whole = run_job(write_clip_job(tmp_path / "whole", clip, movie, iterations=50, seed=3))
    np.testing.assert_allclose(resumed.rotations, whole.rotations, atol=1e-5, rtol=0)
    np.testing.assert_allclose(resumed.translations, whole.translations, atol=1e-5, rtol=0)


def test_no_resume_starts_again_from_the_first_frame(clip, movie, tmp_path):
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=4)
    token = CancelToken()
    token.cancel()  # stopped before the first step: nothing tracked
    lines = []
    assert worker.main([str(folder)], stdout=Capture(lines), cancel=token) == \
        worker.EXIT_STOPPED
    assert read_events("".join(lines))[-1]["frames_done"] == 0
    partial = TrackResult.load(folder / "result.npz")
    assert not partial.complete and partial.num_frames == 0
    lines.clear()
    assert worker.main([str(folder), "--no-resume"], stdout=Capture(lines)) == \
        worker.EXIT_COMPLETE
    assert read_events("".join(lines))[0]["resumed_frames"] == 0


class Capture:
    """A text stream that keeps what is written, for worker.main in-process."""

    def __init__(self, lines: list):
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        pass


def test_an_invalid_job_exits_2_naming_the_field(clip, movie, tmp_path):
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=4)
    data = json.loads((folder / "job.json").read_text())
    data["settings"]["modle"] = "direct"
    data["frames"][1]["source"]["index"] = -1
    (folder / "job.json").write_text(json.dumps(data))
    before = folder_files(folder)
    done = subprocess.run(worker_command(folder), capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == worker.EXIT_INVALID
    (event,) = read_events(done.stdout)
    assert event["event"] == "error" and event["kind"] == "JobError"
    paths = [path for path, _ in event["problems"]]
    assert sorted(paths) == ["frames[1].source.index", "settings.modle"]
    assert "settings.modle: unknown field" in event["message"]
    assert folder_files(folder) == before


def test_bad_arguments_and_a_missing_folder_exit_2(tmp_path):
    lines = []
    assert worker.main([], stdout=Capture(lines)) == worker.EXIT_INVALID
    assert read_events("".join(lines))[0]["kind"] == "ValueError"
    lines.clear()
    assert worker.main([str(tmp_path / "nowhere")], stdout=Capture(lines)) == worker.EXIT_INVALID
    (event,) = read_events("".join(lines))
    assert event["problems"][0][0] == "job.json" and "no such folder" in event["message"]


def test_cuda_asked_for_without_cuda_exits_2(clip, movie, tmp_path, monkeypatch):
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=4)
    data = json.loads((folder / "job.json").read_text())
    data["settings"]["device"] = "cuda"
    (folder / "job.json").write_text(json.dumps(data))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    lines = []
    assert worker.main([str(folder)], stdout=Capture(lines)) == worker.EXIT_INVALID
    (event,) = read_events("".join(lines))
    assert event["kind"] == "DeviceError" and "torch sees no CUDA device" in event["message"]
    assert not (folder / "result.npz").exists()


def test_footage_unreadable_after_validation_exits_3_and_keeps_the_folder(clip, movie,
                                                                           tmp_path,
                                                                           monkeypatch):
    """A crash while tracking: an error event with its kind, exit 3, the job's files and the
    earlier result unchanged."""
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=4)
    earlier = TrackResult([FIRST_FRAME], np.tile([1.0, 0, 0, 0], (1, 16, 1)),
                          np.zeros((1, 16, 3)), complete=True)
    earlier.save(folder / "result.npz")
    before = folder_files(folder)
    from spectralsplats_addon.engine.worker import run_job as run_job_module

    def broken(self, source):
        raise OSError(f"{source.path}: read error (the disk went away)")

    monkeypatch.setattr(run_job_module.JobFootage, "read_plain", broken)
    lines = []
    assert worker.main([str(folder)], stdout=Capture(lines)) == worker.EXIT_FAILED
    (event,) = read_events("".join(lines))
    assert event["event"] == "error" and event["kind"] == "OSError"
    assert "the disk went away" in event["message"] and "problems" not in event
    assert folder_files(folder) == before


def test_the_mlp_model_reports_progress_over_the_joint_run(clip, movie, tmp_path):
    """No per-frame events for the joint model; progress counts every step of the run."""
    folder = write_clip_job(tmp_path / "job", clip, movie, iterations=2, model="mlp")
    lines = []
    assert worker.main([str(folder)], stdout=Capture(lines)) == worker.EXIT_COMPLETE
    events = read_events("".join(lines))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[1] == "plate" and kinds[-1] == "finished" and \
        set(kinds[2:-1]) == {"progress"}
    progress = [e for e in events[2:-1] if e["phase"] != "align"]  # throttled: the first
    # and the last step at least
    assert progress[0]["iteration"] == 0 and progress[-1]["iteration"] == 5
    assert all(e["iterations"] == 6 for e in progress)
    assert [e["fraction"] for e in progress] == \
        pytest.approx([(e["iteration"] + 1) / 6 for e in progress], abs=1e-6)
    assert TrackResult.load(folder / "result.npz").model == "mlp"
