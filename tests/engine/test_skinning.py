"""Linear blend skinning: identity, a hand-computed case, rigid motion, orientations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.geometry import axis_angle_to_quat, quat_multiply, quat_to_rotmat
from spectralsplats_addon.engine.deform.skinning import skin_positions, skin_quaternions
from spectralsplats_addon.engine.rig import build_rig


def random_rig(n=300, frames=3, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n, 3))
    rig = build_rig(means, 16, 4, seed=seed)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)
    weights = t(rig.weights)
    weights = weights / weights.sum(dim=1, keepdim=True)  # float32 sums are 1 only to ~1e-7
    return t(means), t(rig.control_points), torch.as_tensor(rig.indices), weights, rig


def identity(frames, points):
    q = torch.zeros(frames, points, 4, dtype=torch.float64)
    q[..., 0] = 1
    return q, torch.zeros(frames, points, 3, dtype=torch.float64)


def test_rest_pose_is_the_identity():
    means, cp, idx, w, _ = random_rig()
    q, t = identity(2, cp.shape[0])
    out = skin_positions(means, cp, q, t, idx, w)
    torch.testing.assert_close(out, means.expand(2, -1, -1), atol=1e-12, rtol=0)


def test_hand_computed_two_bone_case():
    """x = (1, 0, 0) bound 0.25 / 0.75 to p0 = 0 (turned 90 deg about z) and p1 = (2, 0, 0)
    (moved by (0, 0, 1)): 0.25 (0, 1, 0) + 0.75 (1, 0, 1) = (0.75, 0.25, 0.75)."""
    means = torch.tensor([[1.0, 0, 0]], dtype=torch.float64)
    cp = torch.tensor([[0.0, 0, 0], [2.0, 0, 0]], dtype=torch.float64)
    q = torch.tensor([[[math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)], [1, 0, 0, 0]]],
                     dtype=torch.float64)
    t = torch.tensor([[[0.0, 0, 0], [0, 0, 1]]], dtype=torch.float64)
    out = skin_positions(means, cp, q, t, torch.tensor([[0, 1]]),
                         torch.tensor([[0.25, 0.75]], dtype=torch.float64))
    torch.testing.assert_close(out[0, 0], torch.tensor([0.75, 0.25, 0.75], dtype=torch.float64))


def test_the_same_motion_on_every_control_point_moves_the_asset_rigidly():
    """R_k = R, t_k = t + (R - I) p_k ... i.e. a rigid motion about the origin for all k."""
    means, cp, idx, w, _ = random_rig()
    R_q = axis_angle_to_quat(torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64))
    R = quat_to_rotmat(R_q)
    shift = torch.tensor([0.1, 0.2, -0.3], dtype=torch.float64)
    q = R_q.expand(1, cp.shape[0], 4)
    t = (cp @ R.T + shift - cp)[None]  # so that R (x - p) + p + t = R x + shift
    out = skin_positions(means, cp, q, t, idx, w)
    torch.testing.assert_close(out[0], means @ R.T + shift, atol=1e-12, rtol=0)
    quats = torch.nn.functional.normalize(torch.randn(means.shape[0], 4, dtype=torch.float64),
                                          dim=-1)
    turned = skin_quaternions(quats, q, idx, w)[0]
    expected = quat_multiply(R_q.expand_as(quats), quats)
    torch.testing.assert_close(quat_to_rotmat(turned), quat_to_rotmat(expected), atol=1e-12, rtol=0)


def test_against_a_per_splat_loop_and_sign_of_quaternions():
    means, cp, idx, w, _ = random_rig(n=40, seed=3)
    g = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(
        torch.randn(2, cp.shape[0], 4, generator=g, dtype=torch.float64), dim=-1)
    t = torch.randn(2, cp.shape[0], 3, generator=g, dtype=torch.float64)
    out = skin_positions(means, cp, q, t, idx, w)
    R = quat_to_rotmat(q)
    for f in range(2):
        for i in range(means.shape[0]):
            expected = sum(w[i, j] * (R[f, idx[i, j]] @ (means[i] - cp[idx[i, j]]) + cp[idx[i, j]]
                                      + t[f, idx[i, j]]) for j in range(idx.shape[1]))
            torch.testing.assert_close(out[f, i], expected, atol=1e-12, rtol=0)
    # q and -q are one rotation: positions and blended orientations do not change.
    flipped = torch.where(torch.rand(q.shape[:-1] + (1,), generator=g) < 0.5, -q, q)
    torch.testing.assert_close(skin_positions(means, cp, flipped, t, idx, w), out)
    quats = torch.nn.functional.normalize(
        torch.randn(means.shape[0], 4, generator=g, dtype=torch.float64), dim=-1)
    torch.testing.assert_close(skin_quaternions(quats, flipped, idx, w),
                               skin_quaternions(quats, q, idx, w))


def test_gradients_reach_rotations_and_translations():
    means, cp, idx, w, _ = random_rig(n=30, seed=5)
    q, t = identity(1, cp.shape[0])
    q = (q + 0.01 * torch.randn_like(q)).requires_grad_(True)
    t = t.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda q_, t_: skin_positions(means, cp, q_, t_, idx, w),
                                    (q, t))


def test_bad_shapes():
    means, cp, idx, w, _ = random_rig(n=30)
    q, t = identity(1, cp.shape[0])
    with pytest.raises(ValueError, match=r"must both be \[N=30, K\]"):
        skin_positions(means, cp, q, t, idx[:, :2], w)
    with pytest.raises(ValueError, match=r"rotations must be \[F, P, 4\]"):
        skin_positions(means, cp, q[0], t, idx, w)
