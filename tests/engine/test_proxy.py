"""Proxy tracking: the subset keeps every part of the asset and its most covering splats, the
restricted rig shares the control points, inflation brings the proxy's render toward the full
asset's, an object transform folds into the control-point motion exactly, and the motion
tracked on half the splats is close to the motion tracked on all of them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.config import TrackingConfig
from spectralsplats_addon.engine.geometry import (axis_angle_to_matrix, axis_angle_to_quat,
                                                 matrix_to_quat)
from spectralsplats_addon.engine.deform.skinning import pose_splats
from spectralsplats_addon.engine.errors import ConfigError
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.track.proxy import (control_point_motion, coverage_scores,
                                               full_asset_psnr, inflate_to_match,
                                               proxy_subset, restrict_rig,
                                               track_with_proxy)
from spectralsplats_addon.engine.track.sequence import track_sequence
from spectralsplats_addon.lab.examples import known_motion, render_clip
from spectralsplats_addon.lab.shift_experiment import coverage_subset
from spectralsplats_addon.lab.synthetic import make_synthetic_splats

INDICES = [0, 2, 4]   # sequence frames of the clip: scene frames 1, 3, 5
CONFIG = TrackingConfig(iterations=40, num_bands=5, spectral_fraction=0.5, warmup_fraction=0.1,
                        lr_control_points=5e-3, lr_final_fraction=0.3, align_iterations=40)


@pytest.fixture(scope="module")
def motion():
    return known_motion("articulated", 5, 48, num_control_points=16)


def test_the_subset_has_the_count_in_order_and_is_seeded(motion):
    subset, indices = proxy_subset(motion.splats, 600, seed=3)
    assert len(subset) == 600 and indices.tolist() == sorted(set(indices.tolist()))
    np.testing.assert_array_equal(subset.means, motion.splats.means[indices])
    np.testing.assert_array_equal(proxy_subset(motion.splats, 600, seed=3)[1], indices)
    assert not np.array_equal(proxy_subset(motion.splats, 600, seed=4)[1], indices)
    whole, every = proxy_subset(motion.splats, 10_000)
    assert whole is motion.splats and every.tolist() == list(range(len(motion.splats)))
    with pytest.raises(ConfigError, match="a proxy needs at least 1 splat, got 0"):
        proxy_subset(motion.splats, 0)


def test_the_subset_keeps_every_control_point_and_the_covering_splats(motion):
    _, indices = proxy_subset(motion.splats, 300)
    rig = restrict_rig(motion.rig, indices)
    np.testing.assert_array_equal(rig.control_points, motion.rig.control_points)
    np.testing.assert_array_equal(rig.weights, motion.rig.weights[indices])
    mass = np.zeros(rig.num_control_points)
    np.add.at(mass, rig.indices.ravel(), rig.weights.ravel())
    assert mass.min() > 1.0          # every control point still moves proxy splats


def test_the_subset_prefers_opaque_wide_splats():
    splats = make_synthetic_splats(4000, seed=1)        # opacities 0.1 .. 0.95, varied sizes
    _, indices = proxy_subset(splats, 500)
    score = coverage_scores(splats).numpy()
    assert score[indices].mean() > 1.5 * score.mean()   # 1.86 measured; 1.0 at random


def test_coverage_subset_lives_in_proxy_and_keeps_the_top_scores(motion):
    assert coverage_subset.__module__.endswith("engine.track.proxy")
    top = coverage_subset(motion.splats, 100)
    score = coverage_scores(motion.splats).numpy()
    assert coverage_scores(top).numpy().min() >= np.sort(score)[-100] - 1e-12


def test_inflating_the_proxy_brings_its_render_toward_the_full_asset(motion):
    subset, _ = proxy_subset(motion.splats, 600)
    inflated, factor = inflate_to_match(subset, motion.splats, motion.train_camera)
    assert factor > 1.0
    with torch.no_grad():
        full = render(motion.splats.to_torch(), motion.train_camera).alpha
        before = render(subset.to_torch(), motion.train_camera).alpha
        after = render(inflated, motion.train_camera).alpha
    assert float(((after - full) ** 2).mean()) < 0.5 * float(((before - full) ** 2).mean())


def test_an_object_transform_folds_into_the_control_point_motion(motion):
    rotvec = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    np.testing.assert_allclose(matrix_to_quat(axis_angle_to_matrix(rotvec).numpy()),
                               axis_angle_to_quat(rotvec).numpy(), atol=1e-12)
    matrix = np.eye(4)
    matrix[:3, :3] = axis_angle_to_matrix(rotvec).numpy()
    matrix[:3, 3] = [0.1, -0.4, 0.2]
    f = 3
    result = TrackResult([1], motion.rotations[f:f + 1], motion.translations[f:f + 1],
                         model="direct", object_matrices=matrix[None])
    rotations, translations = control_point_motion(result, motion.rig.control_points)
    with torch.no_grad():
        skinned = motion.posed(f).means.double().numpy()
        folded = pose_splats(motion.splats, motion.rig, rotations[0], translations[0])
    np.testing.assert_allclose(folded.means.numpy(), skinned @ matrix[:3, :3].T + matrix[:3, 3],
                               atol=1e-5)


def test_proxy_tracking_recovers_the_motion_that_full_tracking_does(motion):
    """Measured: full tracking 60.1 / 44.2 / 33.3 dB; the 1,500-splat proxy 41.6 / 38.7 /
    32.3 dB (full asset rendered with its motion); the proxy's control points are 0.15 px
    from full tracking's in the image (the true motion moves them 0.69 px on average from
    rest), 0.7 % of the asset size in 3D (true motion: 1.9 %)."""
    targets = render_clip(motion, motion.train_camera)
    targets = [targets[i] for i in INDICES]
    frames = [motion.frames[i] for i in INDICES]
    full = track_sequence(motion.splats, motion.rig, motion.train_camera, targets, frames,
                          "direct", CONFIG)
    proxy = track_with_proxy(motion.splats, motion.rig, motion.train_camera, targets, frames,
                             "direct", CONFIG, proxy=1500)
    truth = motion.translations[INDICES]
    cp = motion.rig.control_points

    def image(translations):                              # [F, P, 2] projected control points
        return np.stack([motion.train_camera.project(cp + t)[:, :2] for t in translations])

    true_motion = np.linalg.norm(image(truth) - image(np.zeros_like(truth)), axis=-1).mean()
    gap = np.linalg.norm(image(proxy.translations) - image(full.translations), axis=-1).mean()
    assert gap < 0.4 * true_motion, (gap, true_motion)
    gap_3d = np.linalg.norm(proxy.translations - full.translations, axis=-1).mean()
    assert gap_3d < 0.6 * np.linalg.norm(truth, axis=-1).mean()
    np.testing.assert_allclose(proxy.psnr, full_asset_psnr(motion.splats, motion.rig, proxy,
                                                           motion.train_camera, targets))
    assert proxy.extra["proxy_indices"].shape == (1500,) and proxy.extra["proxy_scale"] > 1
    assert math.isfinite(float(np.mean(proxy.psnr)))
