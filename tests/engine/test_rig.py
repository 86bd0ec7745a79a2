"""Control-point rig: farthest point sampling, nearest control points, weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spectralsplats_addon.engine.rig import (
    Rig,
    build_rig,
    control_point_count,
    farthest_point_sampling,
    nearest_control_points,
    skinning_weights,
)

DONUT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "donut.ply"


def test_fps_on_a_line_takes_the_far_end_then_the_farthest_remaining_point():
    x = np.zeros((11, 3))
    x[:, 0] = np.arange(11)
    chosen = farthest_point_sampling(x, 3, seed=0)
    first = x[chosen[0], 0]
    assert x[chosen[1], 0] == (10 if first < 5 else 0)
    gap = np.minimum(abs(x[:, 0] - first), abs(x[:, 0] - x[chosen[1], 0]))
    assert gap[chosen[2]] == gap.max() and chosen[2] == np.argmax(gap)


def test_fps_is_deterministic_and_spreads_points():
    x = np.random.default_rng(1).uniform(size=(2000, 3))
    a, b = farthest_point_sampling(x, 64, seed=3), farthest_point_sampling(x, 64, seed=3)
    assert np.array_equal(a, b) and len(set(a)) == 64
    # Covering radius of FPS is far below that of 64 random points.
    cover = lambda idx: np.sqrt(nearest_control_points(x, x[idx], 1)[1]).max()
    assert cover(a) < 0.7 * cover(np.random.default_rng(0).choice(2000, 64, replace=False))


def test_nearest_control_points_against_brute_force():
    rng = np.random.default_rng(2)
    x, cp = rng.normal(size=(500, 3)), rng.normal(size=(40, 3))
    idx, d2 = nearest_control_points(x, cp, 4, chunk=64)
    full = ((x[:, None, :] - cp[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(idx, np.argsort(full, axis=1)[:, :4])
    np.testing.assert_allclose(d2, np.sort(full, axis=1)[:, :4], atol=1e-10)


def test_weights_follow_the_gaussian_of_distance_and_sum_to_one():
    d2 = np.array([[0.0, 1.0, 4.0, 9.0]])
    w = skinning_weights(d2, radius=1.0)
    e = np.exp(-d2[0] / 2)
    np.testing.assert_allclose(w[0], e / e.sum(), rtol=1e-6)
    far = skinning_weights(np.array([[1e6, 1e6 + 1, 1e6 + 2, 1e6 + 3]]), radius=1.0)
    assert np.isfinite(far).all() and far.sum() == pytest.approx(1.0)


def test_small_assets_get_fewer_control_points():
    assert control_point_count(100_000) == 512
    assert control_point_count(1000) == 125
    assert control_point_count(3) == 1
    rig = build_rig(np.random.default_rng(0).normal(size=(200, 3)))
    assert rig.num_control_points == 25 and rig.indices.shape == (200, 4)


def test_donut_rig(tmp_path):
    from spectralsplats_addon.engine.io import read_splats

    means = read_splats(DONUT).means
    rig = build_rig(means, 512, seed=0)
    assert rig.control_points.shape == (512, 3)
    np.testing.assert_allclose(rig.weights.sum(axis=1), 1.0, rtol=1e-5)
    assert (rig.weights[:, 0] >= rig.weights[:, -1]).all()  # nearest control point weighs most
    size = np.linalg.norm(means.max(0) - means.min(0))
    assert 0.005 * size < rig.radius < 0.2 * size
    rig.save(tmp_path / "rig.npz")
    back = Rig.load(tmp_path / "rig.npz")
    assert np.array_equal(back.indices, rig.indices) and back.radius == rig.radius


def test_bad_input():
    with pytest.raises(ValueError, match=r"N > 0"):
        build_rig(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        build_rig(np.array([[0, 0, np.nan]] * 20))
    with pytest.raises(ValueError, match="at least 1"):
        build_rig(np.zeros((20, 3)), num_control_points=0)
