"""Sequence tracker: a known non-rigid motion recovered by the direct and mlp models,
progress events, cancel within one iteration, checkpoint + resume equal to an uninterrupted
run, the rigid model's result layout, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.config import TrackingConfig
from spectralsplats_addon.engine.deform.pose import RigidPose, asset_size
from spectralsplats_addon.engine.errors import ConfigError, LossInputError
from spectralsplats_addon.engine.loss.metrics import psnr
from spectralsplats_addon.engine.progress import CancelToken
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.rig import build_rig
from spectralsplats_addon.engine.track.sequence import _Scene, track_sequence, unlocked_frames
from spectralsplats_addon.lab.shift_experiment import framing_camera, make_marker_asset

FRAMES = [10, 11]
CONFIG = TrackingConfig(iterations=30, num_bands=5, spectral_fraction=0.5, warmup_fraction=0.1,
                        lr_control_points=5e-3, lr_mlp=1e-3, lr_final_fraction=0.3,
                        align_first_frame=False)  # the models alone; alignment tested below
SHORT = CONFIG.replace(iterations=4, mlp_checkpoint_every=3)


class Clip:
    """300 splats, 16 control points, 32 x 32 px: a bend that grows over the frames (control
    points shifted along x in proportion to their height, and a drift along y)."""

    def __init__(self):
        self.splats = make_marker_asset(300)
        self.rig = build_rig(self.splats.means.numpy(), 16)
        self.camera = framing_camera(self.splats, 32, 0.35)
        cp = torch.as_tensor(self.rig.control_points)
        height = (cp[:, 2] - cp[:, 2].mean()) / (cp[:, 2].max() - cp[:, 2].min())
        scene = _Scene(self.splats, self.rig, self.camera, [(None, None)] * 2, FRAMES, CONFIG)
        rest = torch.zeros(cp.shape[0], 4)
        rest[:, 0] = 1
        self.targets = []
        for f in range(len(FRAMES)):
            amount = 0.06 * (f + 1) * asset_size(self.splats)
            trans = torch.stack([2 * amount * height, torch.full_like(height, 0.5 * amount),
                                 torch.zeros_like(height)], -1)
            with torch.no_grad():
                out = render(scene.posed(rest, trans), self.camera)
            self.targets.append((out.rgb, out.alpha))
        with torch.no_grad():
            still = render(self.splats, self.camera).rgb.permute(2, 0, 1)
        self.rest_psnr = np.array([psnr(still, rgb.permute(2, 0, 1)) for rgb, _ in self.targets])


@pytest.fixture(scope="module")
def clip():
    return Clip()


def track(clip, model, config, **kw):
    return track_sequence(clip.splats, clip.rig, clip.camera, clip.targets, FRAMES, model,
                          config, **kw)


def same_motion(a: TrackResult, b: TrackResult) -> None:
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_allclose(a.rotations, b.rotations, atol=1e-6, rtol=0)
    np.testing.assert_allclose(a.translations, b.translations, atol=1e-6, rtol=0)
    np.testing.assert_allclose(a.object_matrices, b.object_matrices, atol=1e-6, rtol=0)


def test_unlocked_frames_rise_from_one_to_all():
    assert [unlocked_frames(s, 100, 5, 0.5) for s in (0, 12, 13, 25, 37, 49, 50, 99)] == \
        [1, 1, 2, 3, 3, 4, 5, 5]
    assert unlocked_frames(0, 100, 5, 0.0) == 5 and unlocked_frames(0, 100, 1, 0.5) == 1


@pytest.mark.parametrize("model, margin", [("direct", 12.0), ("mlp", 12.0)])
def test_a_known_non_rigid_motion_is_recovered(clip, model, margin):
    """PSNR of the two frames, measured on this clip: rest pose 32.7 / 27.2 dB; direct
    53.6 / 44.9 dB; mlp 52.1 / 49.4 dB (the rigid model reaches 40.0 / 34.7)."""
    result = track(clip, model, CONFIG)
    assert result.complete and result.model == model
    assert (result.psnr > clip.rest_psnr + margin).all(), (result.psnr, clip.rest_psnr)


def test_events_cover_every_step_of_every_frame_in_order(clip):
    events = []
    result = track(clip, "direct", SHORT.replace(align_first_frame=True, align_iterations=3),
                   callback=events.append)
    align = [e for e in events[:3] if e["phase"] == "align"]
    assert [(e["frame"], e["iteration"], e["iterations"]) for e in align] == \
        [(0, i, 3) for i in range(3)]
    events = events[3:]
    assert [(e["frame"], e["iteration"]) for e in events] == \
        [(f, i) for f in range(2) for i in range(4)]
    assert [e["phase"] for e in events[:4]] == ["spectral"] * 2 + ["spatial"] * 2
    assert {"total", "arap", "spectral"} <= set(events[0]["losses"])
    assert "temporal" in events[4]["losses"] and "temporal" not in events[0]["losses"]
    assert events[-1]["eta_seconds"] == 0.0
    assert result.losses[-1] == pytest.approx(events[-1]["losses"]["total"])


@pytest.mark.parametrize("model", ["direct", "mlp"])
def test_cancel_stops_within_one_iteration(clip, model):
    token, events = CancelToken(), []

    def cancel_at_the_sixth_step(event):
        events.append(event)
        if len(events) == 6:
            token.cancel()

    result = track(clip, model, SHORT, callback=cancel_at_the_sixth_step, cancel=token)
    assert len(events) == 6 and not result.complete
    # direct: frame 0 finished, frame 1 cut; mlp: both frames unlocked by step 6 of 8
    assert result.frames.tolist() == (FRAMES[:1] if model == "direct" else FRAMES)


@pytest.mark.parametrize("model", ["rigid", "direct", "mlp"])
def test_resume_after_cancel_gives_the_uninterrupted_result(clip, model, tmp_path):
    whole = track(clip, model, SHORT, checkpoint=tmp_path / "whole.npz", seed=7)
    assert TrackResult.load(tmp_path / "whole.npz").complete
    token, count = CancelToken(), [0]

    def cancel_at_the_seventh_step(event):
        count[0] += 1
        if count[0] == 7:
            token.cancel()

    path = tmp_path / "part.npz"
    cut = track(clip, model, SHORT, checkpoint=path, seed=7, callback=cancel_at_the_seventh_step,
                cancel=token)
    assert not cut.complete and not TrackResult.load(path).complete
    resumed_events = []
    resumed = track(clip, model, SHORT, checkpoint=path, resume=True, seed=7,
                    callback=resumed_events.append)
    assert resumed.complete and TrackResult.load(path).complete
    assert len(resumed_events) == (4 if model != "mlp" else 1)  # only the steps left
    same_motion(resumed, whole)


@pytest.mark.parametrize("model", ["direct", "mlp"])
def test_a_resumed_run_repeats_the_alignment_and_ends_where_the_whole_run_does(clip, model,
                                                                                 tmp_path):
    config = SHORT.replace(align_first_frame=True, align_iterations=3)
    start = RigidPose(np.zeros(3), np.array([0.15 * asset_size(clip.splats), 0.0, 0.0]))
    whole = track(clip, model, config, init=start, seed=3)
    token, count = CancelToken(), [0]

    def cancel_after_the_first_model_steps(event):
        count[0] += 1
        if count[0] == 3 + 5:
            token.cancel()

    path = tmp_path / "part.npz"
    cut = track(clip, model, config, init=start, checkpoint=path, seed=3, cancel=token,
                callback=cancel_after_the_first_model_steps)
    assert not cut.complete
    resumed = track(clip, model, config, init=start, checkpoint=path, resume=True, seed=3)
    same_motion(resumed, whole)


def test_alignment_moves_the_start_toward_the_first_frame(clip):
    """A start shifted 0.15 asset sizes: the aligned model's first frame fits the target
    better than the same short run without the alignment."""
    start = RigidPose(np.zeros(3), np.array([0.15 * asset_size(clip.splats), 0.0, 0.0]))
    plain = track(clip, "direct", SHORT, init=start)
    aligned = track(clip, "direct", SHORT.replace(align_first_frame=True, align_iterations=30),
                    init=start)
    assert aligned.psnr[0] > plain.psnr[0] + 3.0, (aligned.psnr, plain.psnr)


def test_mlp_runs_differ_with_the_seed(clip):
    a, b = (track(clip, "mlp", SHORT, seed=s) for s in (1, 2))
    assert np.abs(a.translations - b.translations).max() > 1e-7


def test_rigid_motion_goes_into_the_object_matrices(clip):
    result = track(clip, "rigid", SHORT, loss="pixel")
    assert result.model == "rigid"
    np.testing.assert_array_equal(result.rotations[..., 0], 1.0)
    np.testing.assert_array_equal(result.translations, 0.0)
    assert np.abs(result.object_matrices[-1] - np.eye(4)).max() > 1e-4  # it moved
    np.testing.assert_allclose(result.object_matrices[:, 3], [[0, 0, 0, 1]] * 2)


def test_targets_may_come_from_a_function_of_the_scene_frame(clip):
    asked = []

    def target(frame):
        asked.append(frame)
        return clip.targets[FRAMES.index(frame)]

    a = track_sequence(clip.splats, clip.rig, clip.camera, target, FRAMES, "direct", SHORT)
    same_motion(a, track(clip, "direct", SHORT))
    assert asked == FRAMES


def test_bad_inputs_are_refused_with_advice(clip, tmp_path):
    with pytest.raises(ConfigError, match=r"frames must be increasing scene frame numbers, "
                                          r"got \[11, 10\]"):
        track_sequence(clip.splats, clip.rig, clip.camera, clip.targets, [11, 10], "direct",
                       SHORT)
    with pytest.raises(ConfigError, match="got 3 cameras for 2 frames"):
        track_sequence(clip.splats, clip.rig, [clip.camera] * 3, clip.targets, FRAMES,
                       "direct", SHORT)
    with pytest.raises(ConfigError, match="got 1 target images for 2 frames"):
        track_sequence(clip.splats, clip.rig, clip.camera, clip.targets[:1], FRAMES, "direct",
                       SHORT)
    with pytest.raises(ConfigError, match="unknown deformation model 'bones'"):
        track(clip, "bones", SHORT)
    with pytest.raises(ConfigError, match="unknown tracking loss 'l3'"):
        track(clip, "direct", SHORT, loss="l3")
    with pytest.raises(ConfigError, match="resume=True needs checkpoint"):
        track(clip, "direct", SHORT, resume=True)
    small = [(rgb[:16], alpha[:16]) for rgb, alpha in clip.targets]
    with pytest.raises(LossInputError, match=r"target frame is 32 x 16 \(W x H\) but the camera "
                                             r"renders 32 x 32"):
        track_sequence(clip.splats, clip.rig, clip.camera, small, FRAMES, "direct", SHORT)
    path = tmp_path / "rigid.npz"
    track(clip, "rigid", SHORT.replace(iterations=1), loss="pixel", checkpoint=path)
    with pytest.raises(ConfigError, match="holds model 'rigid' for frames \\[10, 11\\], not "
                                          "model 'direct'"):
        track(clip, "direct", SHORT, checkpoint=path, resume=True)


def test_a_diverging_run_is_a_tracking_error_not_a_fault_of_the_splats(clip):
    config = SHORT.replace(lr_control_points=10.0, lr_mlp=10.0, lr_translation=10.0,
                           lr_rotation=10.0)
    blown = [(rgb * 1e30, alpha) for rgb, alpha in clip.targets]  # a loss that overflows
    from spectralsplats_addon.engine.errors import TrackingError

    with pytest.raises(TrackingError, match=r"the tracking diverged at scene frame 10, step \d+"):
        track_sequence(clip.splats, clip.rig, clip.camera, blown, FRAMES, "direct", config)
