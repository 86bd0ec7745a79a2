"""The shift-radius experiment on clips (lab/shift_eval.py): cases, metrics against the true
motion, the tracked records on a tiny clip, summaries, settings."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.errors import ConfigError
from spectralsplats_addon.lab.shift_eval import (ShiftRecord, ShiftRun, Truth,
                                                    control_point_error, load_motion,
                                                    make_cases, motion_metrics, run_shift_eval,
                                                    spectral_gain, subset_motion, summarise)

# A tiny clip: 400 of the body's splats, 16 control points, 2 frames of 48 px; one start
# 1.5 footprints away (no shared pixel); the mlp's learning rate raised so that 50 steps per
# frame can cover the shift.
TINY = ShiftRun(asset="articulated", frames=2, size=48, control_points=16, max_splats=400,
                radii=(1.5,), directions=1, iterations=50, overrides=(("lr_mlp", 3e-3),))
FIELDS = {"asset", "case", "radius", "direction_deg", "model", "loss", "overlap", "train_psnr",
          "train_ssim", "novel_psnr", "novel_ssim", "cp_error", "seconds"}


@pytest.fixture(scope="module")
def motion():
    return load_motion(TINY)


@pytest.fixture(scope="module")
def truth(motion):
    return Truth(motion)


@pytest.fixture(scope="module")
def records(motion):
    events = []
    out = run_shift_eval(motion, TINY, callback=events.append)
    return out, events


def _project(camera, point) -> np.ndarray:
    """Pixel position [2] of a world point [3] (pinhole, OpenCV axes)."""
    cam = camera.viewmat[:3, :3] @ np.asarray(point, dtype=np.float64) + camera.viewmat[:3, 3]
    return (camera.K @ cam)[:2] / cam[2]


class TestCases:
    def test_start_moves_the_centre_by_radius_footprints_in_the_image(self, truth):
        from spectralsplats_addon.engine.deform.pose import asset_centre
        from spectralsplats_addon.lab.shift_experiment import image_footprint

        run = dataclasses.replace(TINY, radii=(0.0, 0.5, 1.5), directions=3, seed=4)
        cases = make_cases(truth, run)
        assert [c.radius for c in cases] == [0.0, 0.5, 0.5, 0.5, 1.5, 1.5, 1.5]
        centre = asset_centre(truth.motion.splats.to_torch()).double().numpy()
        footprint = image_footprint(truth.train[0][1])
        camera = truth.motion.train_camera
        for case in cases:
            moved = _project(camera, centre + case.translation) - _project(camera, centre)
            theta = math.radians(case.direction_deg)
            expected = case.radius * footprint * np.array([math.cos(theta), math.sin(theta)])
            np.testing.assert_allclose(moved, expected, atol=1e-6)
            depth_axis = camera.viewmat[2, :3]
            assert abs(depth_axis @ case.translation) < 1e-9   # parallel to the image plane
        assert cases[0].overlap == pytest.approx(1.0) and np.all(cases[0].translation == 0)
        assert all(c.overlap == 0 for c in cases if c.radius == 1.5)
        again = make_cases(truth, run)
        assert [c.direction_deg for c in again] == [c.direction_deg for c in cases]


class TestMetrics:
    def test_true_motion_scores_perfectly(self, truth):
        m = truth.motion
        scores = motion_metrics(truth, m.rotations, m.translations)
        assert scores["train_psnr"] == math.inf and scores["novel_psnr"] == math.inf
        assert scores["train_ssim"] == pytest.approx(1.0, abs=1e-6)
        assert scores["novel_ssim"] == pytest.approx(1.0, abs=1e-6)
        assert scores["cp_error"] == 0.0

    def test_control_point_error_of_a_known_offset(self, truth):
        m = truth.motion
        offset = np.array([0.3, -0.4, 0.0]) * truth.size / 10   # |offset| = 0.05 size
        scores = motion_metrics(truth, m.rotations, m.translations + offset)
        assert scores["cp_error"] == pytest.approx(0.05, rel=1e-5)
        assert 0 < scores["train_psnr"] < 60 and 0 < scores["train_ssim"] < 1

    def test_control_point_error_against_hand_values(self):
        ref = np.zeros((2, 2, 3))
        tracked = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]],
                            [[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]]])
        assert control_point_error(tracked, ref, 2.0) == pytest.approx((5 + 0 + 1 + 2) / 4 / 2)
        with pytest.raises(ConfigError, match=r"tracked translations \(2, 2, 3\) and true ones "
                                              r"\(2, 3, 3\) differ"):
            control_point_error(tracked, np.zeros((2, 3, 3)), 1.0)


class TestRun:
    def test_records_fields_and_order(self, records):
        out, _ = records
        assert [(r.model, r.loss) for r in out] == [
            ("direct", "spectral"), ("direct", "pixel"), ("mlp", "spectral"), ("mlp", "pixel")]
        for r in out:
            assert set(r.to_dict()) == FIELDS
            assert (r.asset, r.case, r.radius) == ("articulated", 0, 1.5)
            assert r.seconds > 0 and 0 <= r.cp_error and 0 < r.train_ssim <= 1

    def test_start_overlap_is_zero(self, records):
        assert all(r.overlap == 0 for r in records[0])

    def test_spectral_beats_pixel_for_the_mlp(self, records):
        by = {(r.model, r.loss): r for r in records[0]}
        spectral, pixel = by["mlp", "spectral"], by["mlp", "pixel"]
        assert spectral.train_psnr > pixel.train_psnr + 3.0
        assert spectral.cp_error < pixel.cp_error

    def test_events(self, records):
        out, events = records
        done = [e for e in events if e["event"] == "record"]
        assert [e["record"] for e in done] == [r.to_dict() for r in out]
        assert {e["runs"] for e in events} == {4}
        progress = [e for e in events if e["event"] == "progress"]
        config = TINY.config()
        tracking = [e for e in progress if e["phase"] != "align"]
        assert len(tracking) == 4 * TINY.iterations * TINY.frames
        aligning = [e for e in progress if e["phase"] == "align"]
        assert len(aligning) == (4 * config.align_iterations if config.align_first_frame else 0)
        assert {(e["model"], e["loss"]) for e in progress} == {
            ("direct", "spectral"), ("direct", "pixel"), ("mlp", "spectral"), ("mlp", "pixel")}


def _record(radius, model, loss, overlap, train, novel, cp):
    return ShiftRecord("body", 0, radius, 0.0, model, loss, overlap, train, 0.5, novel, 0.4,
                       cp, 2.0)


class TestSummary:
    RECORDS = [_record(0.0, "mlp", "spectral", 1.0, 40.0, 30.0, 0.01),
               _record(1.0, "mlp", "spectral", 0.0, 30.0, 20.0, 0.1),
               _record(1.0, "mlp", "spectral", 0.2, 20.0, 10.0, 0.3),
               _record(1.0, "mlp", "pixel", 0.0, 18.0, 16.0, 0.5),
               _record(1.0, "mlp", "pixel", 0.2, 22.0, 12.0, 0.7)]

    def test_rows_per_radius_model_loss(self):
        rows = summarise(self.RECORDS)
        assert [(r["radius"], r["loss"], r["cases"], r["zero_overlap"]) for r in rows] == [
            (0.0, "spectral", 1, 0), (1.0, "spectral", 2, 1), (1.0, "pixel", 2, 1)]
        assert rows[1]["train_psnr"] == 25.0 and rows[1]["novel_psnr"] == 15.0
        assert rows[1]["cp_error"] == pytest.approx(0.2) and rows[2]["seconds"] == 2.0
        assert spectral_gain(rows) == {("body", 1.0, "mlp"): 5.0}
        assert spectral_gain(rows, "novel_psnr") == {("body", 1.0, "mlp"): 1.0}

    def test_zero_overlap_rows(self):
        rows = summarise(self.RECORDS, zero_overlap_only=True)
        assert [(r["radius"], r["loss"], r["cases"], r["train_psnr"]) for r in rows] == [
            (None, "spectral", 1, 30.0), (None, "pixel", 1, 18.0)]


class TestSettings:
    @pytest.mark.parametrize("change, message", [
        ({"asset": "teapot"}, "unknown asset 'teapot'; choose one of articulated, donut"),
        ({"radii": (0.5, -1.0)}, r"radii must be one or more finite numbers >= 0"),
        ({"models": ("rigid",)}, r"unknown or no deformation model\(s\) \['rigid'\]"),
        ({"losses": ()}, r"unknown or no loss\(es\)"),
        ({"frames": 0}, "frames must be a positive integer, got 0"),
        ({"fill": 1.5}, r"fill must lie in \(0, 1\]"),
        ({"preset": "slow"}, "unknown preset 'slow'"),
        ({"overrides": (("lr_bogus", 1.0),)}, r"unknown tracking setting\(s\) lr_bogus"),
    ])
    def test_bad_settings(self, change, message):
        with pytest.raises(ConfigError, match=message):
            dataclasses.replace(TINY, **change)

    def test_config_takes_iterations_and_overrides_over_the_preset(self):
        config = TINY.config()
        assert (config.iterations, config.lr_mlp) == (50, 3e-3)
        assert config.expansion == "linear_band"    # the rest is the fast preset's


class TestSubset:
    def test_proxy_keeps_rig_rows_and_motion(self):
        from spectralsplats_addon.lab.examples import known_motion

        full = known_motion("articulated", num_frames=2, size=48, num_control_points=16,
                            fill=TINY.fill)
        proxy = subset_motion(full, 400)
        assert len(proxy.splats) == 400 and proxy.rig.indices.shape[0] == 400
        keep = np.array([np.flatnonzero((full.splats.means == m).all(1))[0]
                         for m in proxy.splats.means])
        assert np.all(np.diff(keep) > 0)
        np.testing.assert_array_equal(proxy.rig.indices, full.rig.indices[keep])
        np.testing.assert_array_equal(proxy.rig.weights, full.rig.weights[keep])
        np.testing.assert_array_equal(proxy.translations, full.translations)
        assert subset_motion(full, 10_000) is full
        score = torch.sigmoid(torch.as_tensor(full.splats.opacity_logits)) * torch.as_tensor(
            np.sort(full.splats.log_scales, 1)[:, 1:].sum(1)).exp()
        assert float(score[keep].min()) >= float(np.delete(score.numpy(), keep).max())
