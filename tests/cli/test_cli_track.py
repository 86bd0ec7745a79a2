"""`spectralsplats track` end to end on a synthetic mp4 and on an RGBA PNG sequence; Ctrl-C
keeps a partial result that the same command resumes; bad arguments exit 2 naming what is
wrong; the main command lists every subcommand and explains a missing one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from spectralsplats_addon.cli import main as cli_main
from spectralsplats_addon.cli.main import main
from spectralsplats_addon.engine.io import write_ply
from spectralsplats_addon.engine.job import load_job, read_job
from spectralsplats_addon.engine.loss.metrics import psnr
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.worker.run_job import JobFootage, job_cameras

from support.moving_clip import OBJECT_MATRIX, ROOT, MovingClip

ITERATIONS = "40"


@pytest.fixture(scope="module")
def clip():
    return MovingClip(3)


@pytest.fixture(scope="module")
def inputs(clip, tmp_path_factory):
    """asset.ply, camera.json, object.json, plate.mp4 and seq/frame_0001.png .. (RGBA)."""
    folder = tmp_path_factory.mktemp("inputs")
    write_ply(folder / "asset.ply", clip.splats.to_numpy())
    (folder / "camera.json").write_text(json.dumps(clip.blender_camera.to_dict()))
    (folder / "object.json").write_text(json.dumps(OBJECT_MATRIX.tolist()))
    clip.write_mp4(folder / "plate.mp4")
    clip.write_pngs(folder / "seq")
    return folder


def track_args(inputs, video: str, out, *extra) -> list[str]:
    return ["track", "--asset", str(inputs / "asset.ply"), "--video", video,
            "--camera", str(inputs / "camera.json"),
            "--object-matrix", str(inputs / "object.json"), "--preset", "fast",
            "--iterations", ITERATIONS, "--resolution", "48", "--control-points", "16",
            "--device", "cpu", "--out", str(out), *extra]


def rest_psnr(folder) -> np.ndarray:
    """PSNR of the asset at rest against each target, as the tracker sees them."""
    loaded = load_job(folder)
    footage = JobFootage(loaded, loaded.job.settings.resolution)
    cameras = job_cameras(loaded, footage.size)
    splats = loaded.splats.to_torch()
    scores = []
    for frame, camera in zip(loaded.job.frames, cameras):
        with torch.no_grad():
            out = render(splats, camera, background=list(frame.background))
        target = torch.as_tensor(footage(frame.scene_frame)[0])
        scores.append(psnr(out.rgb.permute(2, 0, 1), target.permute(2, 0, 1)))
    footage.close()
    return np.array(scores)


def test_track_a_movie_end_to_end(inputs, tmp_path, capsys):
    out = tmp_path / "shot"
    assert main(track_args(inputs, str(inputs / "plate.mp4"), out, "--frames", "101-103")) == 0
    printed = capsys.readouterr()
    assert printed.out.strip() == str((out / "result.npz").resolve())
    assert "tracking 3 frames: model direct, loss spectral, device cpu" in printed.err
    assert "complete: 3 frames" in printed.err
    job = read_job(out)
    assert [(f.scene_frame, f.source.path, f.source.index) for f in job.frames] == \
        [(101 + i, str((inputs / "plate.mp4").resolve()), i) for i in range(3)]
    np.testing.assert_array_equal(job.asset.matrix_world, OBJECT_MATRIX)
    assert job.settings.config == {"iterations": int(ITERATIONS)}
    result = TrackResult.load(out / "result.npz")
    assert result.complete and result.frames.tolist() == [101, 102, 103]
    assert result.num_control_points == 16
    rest = rest_psnr(out)
    # measured: rest 26.9, 21.8, 19.3 dB; tracked 43.5, 33.2, 28.8 dB
    assert (result.psnr > rest + 6.0).all(), (result.psnr, rest)


def test_track_an_rgba_png_sequence_with_a_background(inputs, tmp_path, capsys):
    """Scene frames 5-6 from footage indices 1-2; targets composited over grey, alpha
    supervised."""
    out = tmp_path / "seq"
    pattern = str(inputs / "seq" / "frame_%04d.png")
    assert main(track_args(inputs, pattern, out, "--frames", "5-6", "--first-index", "1",
                           "--background", "0.2,0.2,0.2", "--model", "rigid")) == 0
    job = read_job(out)
    assert [(f.scene_frame, f.source.kind, f.source.path, f.background) for f in job.frames] \
        == [(5 + i, "image", str((inputs / "seq" / f"frame_{i + 2:04d}.png").resolve()),
             (0.2, 0.2, 0.2)) for i in range(2)]
    target_rgb, target_alpha = JobFootage(load_job(out), 48)(5)
    assert target_alpha is not None and target_alpha.min() == 0.0
    np.testing.assert_allclose(target_rgb[target_alpha == 0], 0.2, atol=1e-6)
    result = TrackResult.load(out / "result.npz")
    assert result.complete and result.frames.tolist() == [5, 6] and result.model == "rigid"
    assert (result.psnr > rest_psnr(out) + 6.0).all()  # measured: 43.3, 44.6 vs 23.8, 21.3 dB
    assert not np.allclose(result.object_matrices, np.eye(4))
    capsys.readouterr()


def test_ctrl_c_keeps_a_partial_result_that_the_same_command_resumes(inputs, tmp_path):
    out = tmp_path / "stopped"
    command = [sys.executable, "-m", "spectralsplats_addon",
               *track_args(inputs, str(inputs / "plate.mp4"), out, "--frames", "1-2")]
    command[command.index("--iterations") + 1] = "60"
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:  # stderr is not a terminal: one line per event
        seen.append(process.stderr.readline())
        if seen[-1].startswith("frame 1 (1/2)") or not seen[-1]:
            break
    assert seen[-1].startswith("frame 1 (1/2)"), seen
    process.send_signal(signal.SIGINT)
    # A stop, not the end of the run: 60 steps of a second frame remain, so exit 4 (not 0)
    # shows the signal was honoured. How fast is a figure for the benchmarks, not a test.
    process.wait(timeout=60)
    assert process.returncode == 4
    assert "stopped, partial result" in process.stderr.read()
    partial = TrackResult.load(out / "result.npz")
    assert not partial.complete and partial.frames.tolist() == [1]

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "device cpu, resuming after 1 finished frame\n" in again.stderr
    assert TrackResult.load(out / "result.npz").complete


@pytest.mark.parametrize("change, message", [
    (["--frames", "1-10"], "--frames 1-10: 10 frames, but the footage has 3 from index 0 on"),
    (["--frames", "1-10000000000"], "--frames 1-10000000000: 10000000000 frames, but the "
                                    "footage has 3"),
    (["--seed", "-1"], "--seed -1: give a whole number from 0 to 1000000000"),
    (["--control-points", "0"], "--control-points 0: give a whole number 1 or more"),
    (["--frames", "one-two"], "--frames 'one-two': expected A-B"),
    (["--background", "2,0,0"], "--background '2,0,0': expected three numbers in [0, 1]"),
    (["--object-matrix", "[[1, 0, 0], [0, 1, 0]]"], "asset.matrix_world: expected a 4 x 4"),
    (["--camera", "{lens}"], "camera.lens: missing; expected a positive number"),
])
def test_bad_arguments_exit_2_naming_what_is_wrong(inputs, tmp_path, capsys, change, message):
    camera = json.loads((inputs / "camera.json").read_text())
    del camera["lens"]
    args = track_args(inputs, str(inputs / "plate.mp4"), tmp_path / "bad")
    name = change[0]
    value = change[1].replace("{lens}", json.dumps(camera))
    if name in args:
        args[args.index(name) + 1] = value
    else:
        args += [name, value]
    assert main(args) == 2
    assert message.format(plate=inputs / "plate.mp4") in capsys.readouterr().err
    assert not (tmp_path / "bad" / "job.json").exists()


def test_every_subcommand_is_listed_and_a_missing_one_explained(monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "SUBCOMMANDS", ("track", "render", "nosuch"))
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("track", "render", "nosuch"))
    assert main(["nosuch", "--anything"]) == 2
    assert capsys.readouterr().err.strip() == (
        "spectralsplats nosuch: the command 'nosuch' is not part of this installation "
        "(spectralsplats_addon/cli/nosuch.py is missing); update or reinstall spectralsplats")
    assert main([]) == 2


def test_a_matte_gives_the_targets_their_alpha(clip, inputs, tmp_path, capsys):
    """A greyscale PNG matte beside the movie: its luminance is the alpha of each target."""
    from PIL import Image

    from spectralsplats_addon.engine.video import resize_area

    (tmp_path / "matte").mkdir()
    for i, (_, alpha) in enumerate(clip.frames):
        Image.fromarray(np.round(alpha * 255).astype(np.uint8)).save(
            tmp_path / "matte" / f"m_{i:03d}.png")
    out = tmp_path / "matted"
    args = track_args(inputs, str(inputs / "plate.mp4"), out, "--matte",
                      str(tmp_path / "matte"), "--frames", "1-2", "--first-index", "1")
    args[args.index("--iterations") + 1] = "1"
    assert main(args) == 0
    job = read_job(out)
    assert [f.matte.source.path for f in job.frames] == \
        [str((tmp_path / "matte" / f"m_{i:03d}.png").resolve()) for i in (1, 2)]
    footage = JobFootage(load_job(out), 48)
    for scene_frame, index in ((1, 1), (2, 2)):
        _, alpha = footage(scene_frame)
        expected = resize_area(clip.frames[index][1], 48, 36)
        np.testing.assert_allclose(alpha, expected, atol=1.0 / 255 + 1e-6)
    capsys.readouterr()


def test_without_an_object_matrix_the_asset_stands_at_the_origin(inputs, tmp_path, capsys):
    """The documented command has no --object-matrix: the identity is written as JSON rows."""
    args = track_args(inputs, str(inputs / "plate.mp4"), tmp_path / "plain", "--frames", "1-1")
    at = args.index("--object-matrix")
    del args[at:at + 2]
    args[args.index("--iterations") + 1] = "2"
    assert main(args) == 0, capsys.readouterr().err
    assert read_job(tmp_path / "plain").asset.matrix_world == tuple(
        tuple(row) for row in np.eye(4).tolist())


def test_bad_files_and_folders_exit_2_naming_the_option(inputs, tmp_path, capsys):
    """A camera file that is not UTF-8, --out naming a file, a matte of another length, an
    asset with invalid splats (the hint names this command's --drop-invalid)."""
    from spectralsplats_addon.engine.io import read_splats

    (tmp_path / "latin1.json").write_bytes('{"lens": "\u00e9"}'.encode("latin-1"))
    (tmp_path / "a_file").write_text("taken")
    splats = read_splats(inputs / "asset.ply")
    splats.quats[3] = 1e-30
    write_ply(tmp_path / "bad.ply", splats)
    (tmp_path / "matte").mkdir()
    from PIL import Image

    Image.new("L", (64, 48)).save(tmp_path / "matte" / "m_0001.png")
    cases = [(["--camera", str(tmp_path / "latin1.json")],
              f"--camera {tmp_path / 'latin1.json'}: not UTF-8 text"),
             (["--out", str(tmp_path / "a_file")],
              f"--out {tmp_path / 'a_file'}: a file, not a folder"),
             (["--matte", str(tmp_path / "matte")],
              f"--matte {tmp_path / 'matte'}: 1 frames but --video has 3"),
             (["--asset", str(tmp_path / "bad.ply")],
              "1 has a zero-length quaternion"),
             (["--asset", str(tmp_path / "bad.ply")],
              "Pass --drop-invalid to track the asset without them"),
             (["--video", "v" * 5000 + ".mp4"], "--video " + "v" * 77 + "...: cannot be used "
                                                "(File name too long)"),
             (["--camera", "c" * 5000 + ".json"], "--camera " + "c" * 77 + "...: cannot be "
                                                  "used (File name too long)")]
    for change, message in cases:
        args = track_args(inputs, str(inputs / "plate.mp4"), tmp_path / "out")
        if change[0] in args:
            args[args.index(change[0]) + 1] = change[1]
        else:
            args += change
        assert main(args) == 2, change
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (message, err)
        assert "drop_invalid=True" not in err
