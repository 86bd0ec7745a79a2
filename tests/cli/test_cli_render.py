"""`spectralsplats render`: a known motion written as a result renders back onto the footage
(direct: every control point moved; rigid: the object transform); PNG and mp4 outputs,
side by side; results that do not fit the job are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spectralsplats_addon.cli.main import main
from spectralsplats_addon.engine.loss.metrics import psnr
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.video import open_frames

from support.moving_clip import FIRST_FRAME, MovingClip, write_clip_job

CONTROL_POINTS = 16


@pytest.fixture(scope="module")
def clip():
    return MovingClip(3)


@pytest.fixture()
def job(clip, tmp_path):
    movie = clip.write_mp4(tmp_path / "plate.mp4")
    return write_clip_job(tmp_path / "job", clip, movie, iterations=4)


def true_motion(clip, model: str) -> TrackResult:
    """The clip's own motion: every control point translated by the frame's shift (direct),
    or the same as the object's transform with the control points at rest (rigid)."""
    frames = [FIRST_FRAME + i for i in range(len(clip.shifts))]
    shifts = torch.stack(clip.shifts).numpy()            # [F, 3]
    rotations = np.tile([1.0, 0.0, 0.0, 0.0], (len(frames), CONTROL_POINTS, 1))
    if model == "direct":
        translations = np.repeat(shifts[:, None, :], CONTROL_POINTS, axis=1)
        return TrackResult(frames, rotations, translations, model="direct")
    matrices = np.tile(np.eye(4), (len(frames), 1, 1))
    matrices[:, :3, 3] = shifts
    return TrackResult(frames, rotations, np.zeros((len(frames), CONTROL_POINTS, 3)),
                       model="rigid", object_matrices=matrices)


def halves_psnr(image: np.ndarray) -> float:  # [H, 2W, 3]: footage | render
    width = image.shape[1] // 2
    left, right = (torch.as_tensor(np.ascontiguousarray(p)).permute(2, 0, 1)
                   for p in (image[:, :width], image[:, width:]))
    return psnr(right, left)


@pytest.mark.parametrize("model", ["direct", "rigid"])
def test_the_true_motion_renders_onto_the_footage(clip, job, model, capsys):
    """PNGs side by side: the render of the true motion matches the footage beside it, and
    the rest pose (a result of no motion) does not."""
    true_motion(clip, model).save(job / "true.npz")
    rest = true_motion(clip, model)
    rest.translations[:] = 0
    rest.object_matrices[:] = np.eye(4)
    rest.save(job / "rest.npz")
    for name in ("true", "rest"):
        assert main(["render", "--job", str(job), "--result", str(job / f"{name}.npz"),
                     "--out", str(job / name)]) == 0
    assert capsys.readouterr().out.split() == [str((job / "true").resolve()),
                                               str((job / "rest").resolve())]
    names = sorted(p.name for p in (job / "true").iterdir())
    assert names == [f"frame_{FIRST_FRAME + i:04d}.png" for i in range(3)]
    with open_frames(str(job / "true")) as true, open_frames(str(job / "rest")) as rest_:
        assert true.size == (96, 36)   # two 48 x 36 images (the job's resolution, 48)
        true_psnr = [halves_psnr(true.read(i).rgb) for i in range(3)]
        rest_psnr = [halves_psnr(rest_.read(i).rgb) for i in range(3)]
    # measured: true 38.9-39.0 dB (H.264 footage, 8-bit PNGs); rest 26.9, 21.8, 19.3 dB
    assert min(true_psnr) > 35.0 and max(rest_psnr) < 28.0, (true_psnr, rest_psnr)


def test_an_mp4_alone_at_another_resolution(clip, job, capsys):
    true_motion(clip, "direct").save(job / "result.npz")
    out = job / "preview.mp4"
    assert main(["render", "--job", str(job), "--out", str(out), "--no-side-by-side",
                 "--resolution", "32"]) == 0
    assert "mean PSNR against the footage" in capsys.readouterr().err
    with open_frames(str(out)) as frames:
        assert len(frames) == 3 and frames.size == (32, 24) and frames.fps == 24.0


def test_results_that_do_not_fit_the_job_are_refused(clip, job, capsys):
    assert main(["render", "--job", str(job), "--out", str(job / "x.mp4")]) == 2
    assert "no result file there; run the tracker first" in capsys.readouterr().err

    other_rig = TrackResult([FIRST_FRAME], np.tile([1.0, 0, 0, 0], (1, 9, 1)),
                            np.zeros((1, 9, 3)))
    other_rig.save(job / "other.npz")
    assert main(["render", "--job", str(job), "--result", str(job / "other.npz"),
                 "--out", str(job / "x.mp4")]) == 2
    assert "moves 9 control points but the job's rig has 16" in capsys.readouterr().err

    other_frames = TrackResult([7], np.tile([1.0, 0, 0, 0], (1, 16, 1)), np.zeros((1, 16, 3)))
    other_frames.save(job / "frames.npz")
    assert main(["render", "--job", str(job), "--result", str(job / "frames.npz"),
                 "--out", str(job / "x.mp4")]) == 2
    assert "holds scene frames [7] that the job" in capsys.readouterr().err
    assert not (job / "x.mp4").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--fps", "-5", "--fps -5.0: give a frame rate above 0 and at most 1000"),
    ("--fps", "nan", "--fps nan: give a frame rate"),
    ("--fps", "inf", "--fps inf: give a frame rate"),
    ("--out", "{file}", "an existing file, and a name without .mp4, .mov or .mkv means a "
                        "folder of PNGs"),
])
def test_bad_options_exit_2_naming_them_before_any_work(tmp_path, capsys, option, value,
                                                        message):
    (tmp_path / "notes.txt").write_text("taken")
    args = ["render", "--job", str(tmp_path / "nojob"), "--out", str(tmp_path / "out.mp4")]
    value = value.replace("{file}", str(tmp_path / "notes.txt"))
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
