"""Rigid tracker: recovery of a known shift, progress events, cancellation, frame sequences,
bad inputs; CancelToken and EtaClock."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.config import TrackingConfig
from spectralsplats_addon.engine.deform.pose import RigidPose
from spectralsplats_addon.engine.errors import ConfigError, LossInputError
from spectralsplats_addon.engine.progress import CancelToken, EtaClock, progress_event
from spectralsplats_addon.engine.track.rigid import track_rigid, track_rigid_frame
from spectralsplats_addon.engine.track.step import VectorAdam
from spectralsplats_addon.lab.shift_experiment import (framing_camera, image_plane_shift,
                                                          make_marker_asset, make_scene)

CONFIG = TrackingConfig(iterations=100, num_bands=5, spectral_fraction=0.5, warmup_fraction=0.1,
                        lr_translation=0.06, lr_rotation=0.003, lr_final_fraction=0.3)


@pytest.fixture(scope="module")
def scene():
    splats = make_marker_asset(300)
    return make_scene("marker", splats, framing_camera(splats, 64, 0.2))


def test_cancel_token_and_eta_clock():
    token = CancelToken()
    assert not token.cancelled
    token.cancel()
    assert token.cancelled
    ticks = iter([30.0, 32.0, 34.0, 36.0, 38.0, 40.0])  # the first step took 30 s (compiling)
    clock = EtaClock(6, clock=lambda: next(ticks), min_timed=3)
    assert math.isnan(clock.step())            # the first step is not timed
    assert math.isnan(clock.step())            # one timed step: no estimate yet
    assert math.isnan(clock.step())
    assert clock.step() == pytest.approx(4.0)  # 2 s per timed step, 2 left (not 10 s)
    assert clock.step() == pytest.approx(2.0)  # 2 s per timed step, 1 left
    assert clock.step() == 0.0                 # all done
    event = progress_event(1, 2, 3, "spectral", {"total": np.float32(0.5)}, 1.5)
    assert event == {"frame": 1, "iteration": 2, "iterations": 3, "phase": "spectral",
                     "losses": {"total": 0.5}, "eta_seconds": 1.5}


def test_vector_adam_steps_along_the_gradient_direction():
    p = torch.zeros(3, requires_grad=True)
    opt = VectorAdam([p], lr=0.1)
    p.grad = torch.tensor([3.0, 4.0, 0.0])
    opt.step()
    assert torch.allclose(p.detach(), torch.tensor([-0.06, -0.08, 0.0]), atol=1e-6)  # lr g/|g|


def test_shift_in_the_image_is_recovered_with_events_every_step(scene):
    shift = image_plane_shift(scene.camera, scene.centre.numpy(), (0.4 * scene.footprint_px, 0))
    events = []
    res = track_rigid_frame(scene.splats, scene.camera, scene.target_rgb, scene.target_alpha,
                            CONFIG.replace(multiresolution_min_side=32),  # levels at 64 px
                            init=RigidPose(np.zeros(3), shift), centre=scene.centre,
                            callback=events.append)
    assert np.linalg.norm(shift) / scene.size > 0.1
    assert np.linalg.norm(res.pose.translation) / scene.size < 0.02
    assert [e["iteration"] for e in events] == list(range(100))
    assert [e["phase"] for e in events] == ["spectral"] * 50 + ["spatial"] * 50
    assert events[0]["losses"]["resolution"] == 32 and events[49]["losses"]["resolution"] == 64
    assert events[-1]["eta_seconds"] == 0.0
    assert res.iterations_run == 100 and not res.cancelled and len(res.loss_history) == 100


def test_pixel_loss_runs_the_spatial_phase_on_every_step(scene):
    events = []
    track_rigid_frame(scene.splats, scene.camera, scene.target_rgb, scene.target_alpha,
                      CONFIG.replace(iterations=5), loss="pixel", callback=events.append)
    assert [e["phase"] for e in events] == ["spatial"] * 5
    assert events[0]["losses"]["total"] == pytest.approx(0.0, abs=1e-6)  # starts at the truth


def test_cancel_stops_before_the_next_step_and_returns_the_pose_so_far(scene):
    token = CancelToken()

    def stop_after_seven(event):
        if event["iteration"] == 6:
            token.cancel()

    res = track_rigid_frame(scene.splats, scene.camera, scene.target_rgb, scene.target_alpha,
                            CONFIG, callback=stop_after_seven, cancel=token)
    assert res.cancelled and res.iterations_run == 7 and len(res.loss_history) == 7


def test_sequence_starts_each_frame_from_the_previous_pose(scene):
    shift = image_plane_shift(scene.camera, scene.centre.numpy(), (0.3 * scene.footprint_px, 0))
    frames = [(scene.target_rgb, scene.target_alpha)] * 2
    events = []
    out = track_rigid(scene.splats, scene.camera, frames, CONFIG.replace(iterations=20),
                      init=RigidPose(np.zeros(3), shift), callback=events.append)
    assert len(out.frames) == 2 and not out.cancelled
    assert [e["frame"] for e in events] == [0] * 20 + [1] * 20
    first, second = out.poses
    # frame 1 starts where frame 0 ended: its first loss equals frame 0's final state's loss
    assert np.linalg.norm(second.translation) <= np.linalg.norm(first.translation) + 1e-3
    with pytest.raises(ConfigError, match="got 3 cameras for 2 frames"):
        track_rigid(scene.splats, [scene.camera] * 3, frames, CONFIG)


def test_bad_inputs_raise_typed_errors(scene):
    with pytest.raises(ConfigError, match="unknown rigid tracking loss 'l2'"):
        track_rigid_frame(scene.splats, scene.camera, scene.target_rgb, None, CONFIG, loss="l2")
    with pytest.raises(LossInputError, match=r"a target frame is \[H, W, 3\] RGB"):
        track_rigid_frame(scene.splats, scene.camera, scene.target_alpha, None, CONFIG)
    with pytest.raises(LossInputError, match=r"target frame is 24 x 24 \(W x H\) but the camera "
                                             r"renders 64 x 64"):
        track_rigid_frame(scene.splats, scene.camera, scene.target_rgb[:24, :24], None, CONFIG)


def test_spectral_depth_hold_keeps_the_depth_through_the_spectral_phase(scene):
    """A start off in depth and in the image: with the hold, the spectral phase moves only the
    image-plane part (the view-axis component stays exactly); without it the depth moves."""
    view = scene.camera.viewmat[2, :3]
    shift = image_plane_shift(scene.camera, scene.centre.numpy(), (0.4 * scene.footprint_px, 0))
    start = shift + 0.1 * scene.size * view
    config = CONFIG.replace(iterations=12, spectral_fraction=1.0, multiresolution=False)
    depths = {}
    for hold in (True, False):
        res = track_rigid_frame(scene.splats, scene.camera, scene.target_rgb,
                                scene.target_alpha, config.replace(spectral_depth_hold=hold),
                                init=RigidPose(np.zeros(3), start), centre=scene.centre)
        depths[hold] = float(view @ res.pose.translation)
        moved = np.linalg.norm(res.pose.translation - start) / scene.size
        assert moved > 0.05
    assert depths[True] == pytest.approx(0.1 * scene.size, rel=1e-5)
    assert abs(depths[False] - 0.1 * scene.size) > 1e-3 * scene.size
    with pytest.raises(ConfigError, match="spectral_depth_hold must be true or false, got 1"):
        CONFIG.replace(spectral_depth_hold=1)
