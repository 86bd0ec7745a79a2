"""`spectralsplats example`: the clips, the rest asset, the rig, the true motion and the
Blender cameras are written and read back as the engine's example; bad assets exit with 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spectralsplats_addon.cli.main import main
from spectralsplats_addon.engine.conventions import camera_from_blender
from spectralsplats_addon.engine.io import read_splats
from spectralsplats_addon.engine.job.model import camera_from_dict
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.rig import Rig
from spectralsplats_addon.engine.video import open_frames
from spectralsplats_addon.lab.examples import known_motion, render_clip

ARGS = ["example", "--asset", "articulated", "--frames", "3", "--size", "32",
        "--control-points", "12"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("example")
    code = main([*ARGS, "--out", str(out)])
    return code, out, known_motion("articulated", 3, 32, num_control_points=12)


def test_every_file_is_written(written, capsys):
    code, out, _ = written
    assert code == 0
    names = {"train.mp4", "novel.mp4", "train", "novel", "asset.ply", "rig.npz", "result.npz",
             "camera.json", "novel_camera.json"}
    assert names <= {p.name for p in out.iterdir()}
    assert sorted(p.name for p in (out / "train").iterdir()) == \
        ["frame_0001.png", "frame_0002.png", "frame_0003.png"]


def test_the_truth_asset_and_rig_are_the_examples(written):
    _, out, motion = written
    truth = TrackResult.load(out / "result.npz")
    assert truth.model == "direct" and truth.frames.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(truth.rotations, motion.rotations)
    np.testing.assert_array_equal(truth.translations, motion.translations)
    np.testing.assert_array_equal(read_splats(out / "asset.ply").means, motion.splats.means)
    rig = Rig.load(out / "rig.npz")
    np.testing.assert_array_equal(rig.control_points, motion.rig.control_points)
    np.testing.assert_array_equal(rig.indices, motion.rig.indices)


def test_camera_json_gives_the_examples_cameras(written):
    _, out, motion = written
    for name, camera in (("camera.json", motion.train_camera),
                         ("novel_camera.json", motion.novel_camera)):
        again = camera_from_blender(camera_from_dict(json.loads((out / name).read_text())))
        np.testing.assert_allclose(again.viewmat, camera.viewmat, atol=1e-12)
        np.testing.assert_allclose(again.K, camera.K, atol=1e-12)


def test_the_png_frames_are_the_training_renders(written):
    _, out, motion = written
    clip = render_clip(motion, motion.train_camera)
    with open_frames(out / "train") as frames:
        assert len(frames) == 3
        for i, (rgb, alpha) in enumerate(clip):
            frame = frames.read(i)
            np.testing.assert_allclose(frame.alpha, alpha.numpy(), atol=1 / 255)
            np.testing.assert_allclose(frame.composited((0, 0, 0)), rgb.numpy(), atol=2 / 255)


def test_bad_assets_exit_with_2_and_say_why(tmp_path, capsys):
    assert main(["example", "--asset", "robot", "--out", str(tmp_path)]) == 2
    assert "--asset 'robot' is neither an example (articulated, donut) nor a .ply file" in \
        capsys.readouterr().err
    assert main(["example", "--asset", str(tmp_path / "gone.ply"), "--out", str(tmp_path)]) == 2
    assert "gone.ply: no such .ply" in capsys.readouterr().err
    assert main([*ARGS[:4], "0", "--out", str(tmp_path)]) == 2
    assert "--frames must be 1 to 10000" in capsys.readouterr().err


def test_a_size_beyond_the_limit_exits_2_before_rendering(tmp_path, capsys):
    assert main(["example", "--asset", "articulated", "--frames", "2", "--size", "30000",
                 "--out", str(tmp_path)]) == 2
    assert "--frames must be 1 to 10000 and --size 8 to 4096, got 2 and 30000" in \
        capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
