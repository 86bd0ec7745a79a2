"""Known-motion examples: the motion starts at rest (skinning frame 1 gives the rest asset
exactly), the arm turns about its shoulder by the stated angle, the motion is real (control
points move by more than 5 % of the asset size and the frames differ), both cameras see the
whole asset, the Blender cameras round-trip, and clips read back as written."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.conventions import camera_from_blender
from spectralsplats_addon.engine.deform.pose import asset_size
from spectralsplats_addon.engine.errors import ConfigError, VideoError
from spectralsplats_addon.engine.job.model import camera_from_dict, camera_to_dict
from spectralsplats_addon.engine.loss.metrics import psnr
from spectralsplats_addon.engine.video import open_frames
from spectralsplats_addon.lab.examples import (BODY_PARTS, DONUT_PATH, PERIOD_FRAMES,
                                                  articulated_asset, known_motion, render_clip,
                                                  write_clip)


@pytest.fixture(scope="module")
def body():
    motion = known_motion("articulated", num_frames=PERIOD_FRAMES // 2 + 1, size=64)
    return motion, render_clip(motion, motion.train_camera), render_clip(motion,
                                                                          motion.novel_camera)


@pytest.fixture(scope="module")
def donut():
    motion = known_motion("donut", num_frames=7, size=64)
    return motion, render_clip(motion, motion.train_camera), render_clip(motion,
                                                                          motion.novel_camera)


def both(body, donut):
    return [("articulated", body), ("donut", donut)]


def test_the_articulated_asset_is_a_solid_body_of_a_few_thousand_splats():
    splats = articulated_asset(seed=0)
    assert 2000 <= len(splats) <= 5000 and splats.sh_degree == 0
    assert isinstance(splats.means, np.ndarray) and splats.means.dtype == np.float32
    assert (splats.opacities() > 0.85).all()
    colours = np.unique(np.round(splats.colors_dc(), 1), axis=0)
    assert len(colours) >= len(BODY_PARTS)
    np.testing.assert_array_equal(articulated_asset(seed=0).means, splats.means)
    assert not np.array_equal(articulated_asset(seed=1).means, splats.means)


@pytest.mark.parametrize("which", ["articulated", "donut"])
def test_the_first_frame_is_the_rest_pose_exactly(body, donut, which):
    motion = dict(both(body, donut))[which][0]
    assert motion.frames == list(range(1, motion.num_frames + 1))
    rest = [[1, 0, 0, 0]] * motion.rig.num_control_points
    np.testing.assert_array_equal(motion.rotations[0], rest)
    np.testing.assert_array_equal(motion.translations[0], 0.0)
    posed = motion.posed(0)
    np.testing.assert_allclose(posed.means.numpy(), motion.splats.means, atol=1e-6, rtol=0)
    np.testing.assert_allclose(posed.quats.numpy(), motion.splats.quats, atol=1e-6, rtol=0)


def test_the_rigs_have_the_stated_control_point_counts(body, donut):
    assert body[0].rig.num_control_points == 48
    assert donut[0].rig.num_control_points == 512 and len(donut[0].splats) == 45_624
    assert known_motion("articulated", 2, 32, num_control_points=20).rig.num_control_points == 20


def test_the_arm_turns_about_its_shoulder_by_the_stated_angle(body):
    """At half a period the sway is back to 0 and the arms are up by their full 70 degrees:
    R_k = R_y(-70 deg), t_k = R (p_k - J) + J + (0, 0, 0.06) - p_k for the left arm."""
    motion = body[0]
    arm = next(p for p in BODY_PARTS if p.name == "left arm")
    f = PERIOD_FRAMES // 2
    cp = motion.rig.control_points.astype(np.float64)
    on_arm = (cp[:, 0] > 0.24) & (cp[:, 2] < 1.3)
    assert on_arm.sum() >= 2
    half = math.radians(arm.amplitude_deg) / 2
    np.testing.assert_allclose(motion.rotations[f, on_arm],
                               [[math.cos(half), 0, -math.sin(half), 0]] * int(on_arm.sum()),
                               atol=1e-6)
    c, s = math.cos(2 * half), math.sin(2 * half)
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    joint = np.asarray(arm.joint)
    expected = (cp[on_arm] - joint) @ rot.T + joint + [0, 0, 0.06] - cp[on_arm]
    np.testing.assert_allclose(motion.translations[f, on_arm], expected, atol=1e-5)


@pytest.mark.parametrize("which", ["articulated", "donut"])
def test_the_motion_is_real_and_the_frames_differ(body, donut, which):
    motion, train, _ = dict(both(body, donut))[which]
    size = asset_size(motion.splats)
    moved = np.linalg.norm(motion.translations, axis=-1)          # [F, P]
    assert moved.mean(axis=1).max() >= 0.05 * size
    images = [rgb.permute(2, 0, 1) for rgb, _ in train]
    for a, b in zip(images, images[1:]):
        assert (a - b).abs().max() > 0.1                          # every frame moves
    assert psnr(images[0], images[-1]) < 25.0


@pytest.mark.parametrize("which", ["articulated", "donut"])
def test_both_cameras_see_the_whole_asset_in_every_frame(body, donut, which):
    motion, train, novel = dict(both(body, donut))[which]
    for frames in (train, novel):
        for _, alpha in frames:
            assert (alpha > 0.5).float().mean() > 0.05
            border = torch.cat([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
            assert float(border.max()) < 1.0 / 255.0
    assert psnr(train[0][0].permute(2, 0, 1), novel[0][0].permute(2, 0, 1)) < 25.0


def test_the_cameras_are_blender_cameras_that_round_trip(body):
    motion = body[0]
    for blender, camera in ((motion.train_blender_camera, motion.train_camera),
                            (motion.novel_blender_camera, motion.novel_camera)):
        again = camera_from_blender(camera_from_dict(camera_to_dict(blender)))
        np.testing.assert_allclose(again.viewmat, camera.viewmat, atol=1e-12)
        np.testing.assert_allclose(again.K, camera.K, atol=1e-12)
        assert (again.width, again.height) == (64, 64)


def test_unknown_examples_and_missing_files_are_refused():
    with pytest.raises(ConfigError, match="unknown example 'robot'; choose one of "
                                          "articulated, donut"):
        known_motion("robot")
    with pytest.raises(ConfigError, match="nowhere.ply: no such .ply"):
        known_motion("donut", path="/nowhere.ply")
    assert DONUT_PATH.is_file()


def test_a_movie_reads_back_as_the_rendered_frames(body, tmp_path):
    frames = body[1][::4]                               # frames 1, 5, 9, 13
    path = write_clip(frames, tmp_path / "train.mp4")
    with open_frames(path) as movie:
        assert len(movie) == 4 and movie.size == (64, 64)
        for i, (rgb, _) in enumerate(frames):
            read = torch.as_tensor(movie.read(i).rgb).permute(2, 0, 1)
            own = psnr(read, rgb.permute(2, 0, 1))
            assert own > 28.0                               # H.264 4:2:0 at 64 px
            if i:                                           # and this frame, not the last
                assert own > psnr(read, frames[i - 1][0].permute(2, 0, 1)) + 3


def test_pngs_hold_straight_colour_and_alpha(body, tmp_path):
    frames = body[1][:2]
    folder = write_clip(frames, tmp_path / "png")
    assert sorted(p.name for p in folder.iterdir()) == ["frame_0001.png", "frame_0002.png"]
    with open_frames(folder) as sequence:
        for i, (rgb, alpha) in enumerate(frames):
            frame = sequence.read(i)
            np.testing.assert_allclose(frame.alpha, alpha.numpy(), atol=1 / 255)
            np.testing.assert_allclose(frame.composited((0, 0, 0)), rgb.numpy(), atol=2 / 255)
    pattern = write_clip(frames, tmp_path / "seq" / "train_%03d.png", first_number=7)
    assert sorted(p.name for p in pattern.iterdir()) == ["train_007.png", "train_008.png"]
    with pytest.raises(VideoError, match="no frames to write"):
        write_clip([], tmp_path / "none.mp4")
