"""`spectralsplats track` and `preview` on a plate: the moving clip in front of a photograph,
no alpha. Without a matte or a background a warning comes before tracking starts; a clean
plate goes into every frame of the job and the render is composited over it; bad plate
options exit 2 naming the option; the preview shows what tracking compares."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from spectralsplats_addon.cli.main import main
from spectralsplats_addon.engine.io import write_ply
from spectralsplats_addon.engine.job import read_job
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.video import resize_area
from spectralsplats_addon.lab.plates import photograph

from support.moving_clip import OBJECT_MATRIX, SIZE, MovingClip


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    """asset.ply, camera.json, object.json, clean.png (64 x 48) and plate/p_0001.png .. (RGB)."""
    folder = tmp_path_factory.mktemp("plate")
    clip = MovingClip(3)
    write_ply(folder / "asset.ply", clip.splats.to_numpy())
    (folder / "camera.json").write_text(json.dumps(clip.blender_camera.to_dict()))
    (folder / "object.json").write_text(json.dumps(OBJECT_MATRIX.tolist()))
    width, height = SIZE
    background = resize_area(photograph(), width, width)[8:8 + height]
    Image.fromarray(np.round(background * 255).astype(np.uint8)).save(folder / "clean.png")
    (folder / "plate").mkdir()
    for i, (rgb, alpha) in enumerate(clip.frames):
        image = rgb * alpha[..., None] + (1 - alpha[..., None]) * background
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(
            folder / "plate" / f"p_{i + 1:04d}.png")
    return folder


def args(plate, out, command: str = "track", *extra) -> list[str]:
    return [command, "--asset", str(plate / "asset.ply"), "--video", str(plate / "plate"),
            "--camera", str(plate / "camera.json"), "--object-matrix",
            str(plate / "object.json"), "--preset", "fast", "--iterations", "20",
            "--resolution", "48", "--control-points", "16", "--device", "cpu", "--out",
            str(out), *extra]


def test_no_matte_and_no_background_is_said_before_tracking_starts(plate, tmp_path, capsys):
    assert main(args(plate, tmp_path / "bare")) == 0
    err = capsys.readouterr().err.splitlines()
    warning = next(i for i, line in enumerate(err) if line.startswith("warning:"))
    first_frame = next(i for i, line in enumerate(err) if line.startswith("frame "))
    assert warning < first_frame
    assert "neither a matte nor a clean plate" in err[warning]
    assert "--matte" in err[warning] and "--clean-plate" in err[warning]


def test_a_clean_plate_goes_into_every_frame_and_under_the_render(plate, tmp_path, capsys):
    out = tmp_path / "clean"
    assert main(args(plate, out, "track", "--clean-plate", str(plate / "clean.png"),
                     "--appearance", "frame")) == 0
    err = capsys.readouterr().err
    assert "plate: the render goes over the clean plate, colour transform frame" in err
    assert "warning" not in err
    job = read_job(out)
    assert job.settings.background == "clean_plate" and job.settings.appearance == "frame"
    assert {f.clean_plate.path for f in job.frames} == {str((plate / "clean.png").resolve())}
    result = TrackResult.load(out / "result.npz")
    assert result.extra["appearance.gain"].shape == (3, 3)
    # the same job over the raw plate, for comparison: the clean plate explains the
    # background, so the render composited over it matches the plate far better
    raw = tmp_path / "raw"
    assert main(args(plate, raw, "track", "--background", "0,0,0")) == 0
    capsys.readouterr()
    assert result.psnr.mean() > TrackResult.load(raw / "result.npz").psnr.mean() + 5.0


@pytest.mark.parametrize("extra, message", [
    (("--clean-plate", "nowhere.png"), "--clean-plate nowhere.png: no such file"),
    (("--clean-plate", "{plate}/clean.png", "--estimate-background"),
     "--estimate-background and a clean plate"),
    (("--background", "{plate}/clean.png", "--clean-plate", "{plate}/clean.png"),
     "give the clean plate once"),
    (("--estimate-background", "--frames", "1-2"), "settings.background: \"estimate\" needs "
                                                   "at least 3 frames"),
])
def test_bad_plate_options_exit_2_naming_the_option(plate, tmp_path, capsys, extra, message):
    extra = [e.format(plate=plate) for e in extra]
    assert main(args(plate, tmp_path / "bad", "track", *extra)) == 2
    assert message in capsys.readouterr().err


def test_the_preview_shows_the_plate_beside_the_render_over_the_clean_plate(plate, tmp_path,
                                                                          capsys):
    out = tmp_path / "preview"
    assert main(args(plate, out, "preview", "--clean-plate", str(plate / "clean.png"),
                     "--frame", "2")) == 0
    printed = capsys.readouterr()
    path = out / "preview_2.png"
    assert printed.out.strip() == str(path.resolve())
    assert "the render goes over the clean plate" in printed.err
    assert not (out / "result.npz").exists()  # nothing tracked
    image = np.asarray(Image.open(path), dtype=np.float32) / 255
    assert image.shape == (36, 3 * 48, 3)
    left, middle = image[:, :48], image[:, 48:96]
    clean = resize_area(np.asarray(Image.open(plate / "clean.png"), dtype=np.float32) / 255,
                        48, 36)
    target = resize_area(np.asarray(Image.open(plate / "plate" / "p_0002.png"),
                                    dtype=np.float32) / 255, 48, 36)
    np.testing.assert_allclose(left, target, atol=1.5 / 255)
    corner = (slice(0, 4), slice(0, 4))  # the asset covers the middle, not the corners
    np.testing.assert_allclose(middle[corner], clean[corner], atol=1.5 / 255)
    assert np.abs(middle - clean).max() > 0.1  # the asset is there
