"""Rigid pose: Rodrigues and quaternions against known rotations, the moved asset against the
same asset seen from the inversely moved camera (means, quats and SH together), gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.conventions import Camera
from spectralsplats_addon.engine.deform.pose import (RigidPose, apply_rigid, asset_centre,
                                                    asset_size, rigid_matrix, rotate_sh,
                                                    sh_rotation)
from spectralsplats_addon.engine.geometry import (axis_angle_to_matrix, axis_angle_to_quat,
                                                 quat_multiply, quat_to_rotmat, rotation_angle)
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.lab.synthetic import make_synthetic_splats, synthetic_camera

F64 = torch.float64


def test_quarter_turn_about_z_is_the_textbook_matrix():
    rot = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=F64))
    expected = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    assert torch.allclose(rot, expected, atol=1e-15)


def test_quaternion_of_axis_angle_gives_the_same_matrix_and_composes():
    gen = torch.Generator().manual_seed(0)
    v1, v2 = torch.randn(2, 3, generator=gen, dtype=F64)
    q1, q2 = axis_angle_to_quat(v1), axis_angle_to_quat(v2)
    assert torch.allclose(quat_to_rotmat(q1), axis_angle_to_matrix(v1), atol=1e-12)
    composed = quat_to_rotmat(quat_multiply(q1, q2))
    assert torch.allclose(composed, axis_angle_to_matrix(v1) @ axis_angle_to_matrix(v2),
                          atol=1e-12)


def test_small_angle_series_match_the_closed_form_and_gradients_are_exact_at_zero():
    v = torch.tensor([3e-5, -2e-5, 1e-5], dtype=F64)  # theta^2 = 1.4e-9 < 1e-8: series branch
    skew = torch.tensor([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]], dtype=F64)
    assert torch.allclose(axis_angle_to_matrix(v), torch.linalg.matrix_exp(skew), atol=1e-15)
    zero = torch.zeros(3, dtype=F64, requires_grad=True)
    (axis_angle_to_matrix(zero)[1, 0]).backward()  # dR_10/dv = e_z at the identity
    assert torch.equal(zero.grad, torch.tensor([0.0, 0.0, 1.0], dtype=F64))
    assert torch.autograd.gradcheck(axis_angle_to_quat, (torch.tensor([0.3, -0.2, 0.5], dtype=F64,
                                                                      requires_grad=True),))


def test_sh_rotation_is_orthogonal_block_diagonal_and_turns_the_colour_field():
    rot = axis_angle_to_matrix(torch.tensor([0.4, 0.1, -0.7], dtype=F64))
    m = sh_rotation(rot, 3)
    assert torch.allclose(m @ m.T, torch.eye(16, dtype=F64), atol=1e-12)
    for lo, hi in ((0, 1), (1, 4), (4, 9), (9, 16)):
        off = m[lo:hi].clone()
        off[:, lo:hi] = 0
        assert off.abs().max() < 1e-12
    from spectralsplats_addon.engine.render.sh import eval_sh_colors
    sh = torch.randn(5, 16, 3, dtype=F64, generator=torch.Generator().manual_seed(1)) * 0.2
    dirs = torch.randn(5, 3, dtype=F64, generator=torch.Generator().manual_seed(2))
    turned = eval_sh_colors(rotate_sh(sh, rot), dirs, 3)
    assert torch.allclose(turned, eval_sh_colors(sh, dirs @ rot, 3), atol=1e-12)


def test_moving_the_asset_equals_moving_the_camera_the_other_way():
    """render(R (x - c) + c + t, camera V) == render(x, camera V T), T = [[R, c + t - R c]]."""
    splats = make_synthetic_splats(300, seed=1, sh_degree=3, dtype=F64)
    cam = synthetic_camera(48, 40)
    v = torch.tensor([0.3, -0.2, 0.5], dtype=F64)
    t = torch.tensor([0.05, 0.1, -0.02], dtype=F64)
    c = asset_centre(splats)
    moved = render(apply_rigid(splats, v, t, c), cam, backend="torch")
    cam2 = Camera(cam.viewmat @ rigid_matrix(v, t, c), cam.K, cam.width, cam.height, cam.near,
                  cam.far)
    still = render(splats, cam2, backend="torch")
    assert moved.alpha.sum() > 50  # the scene is in view
    assert (moved.rgb - still.rgb).abs().max() < 1e-10
    assert (moved.alpha - still.alpha).abs().max() < 1e-10


def test_centre_size_and_pose_helpers():
    splats = make_synthetic_splats(4, seed=0, dtype=F64)
    splats.means = torch.tensor([[0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 2]], dtype=F64)
    splats.opacity_logits = torch.tensor([0.0, 0.0, -1e9, -1e9], dtype=F64)  # weights .5 .5 0 0
    assert torch.allclose(asset_centre(splats), torch.tensor([1.0, 0.0, 0.0], dtype=F64))
    assert torch.allclose(asset_centre(splats, weighted=False),
                          torch.tensor([0.5, 0.25, 0.5], dtype=F64))
    assert asset_size(splats) == pytest.approx(3.0)  # diagonal of a 2 x 1 x 2 box
    assert rotation_angle(np.array([0.0, 0.0, math.radians(350)])) == pytest.approx(10.0)
    pose = RigidPose([0.0, 0.0, math.pi / 2], [1.0, 0.0, 0.0])
    m = pose.matrix([1.0, 0.0, 0.0])  # the centre goes to c + t
    assert np.allclose(m @ [1.0, 0.0, 0.0, 1.0], [2.0, 0.0, 0.0, 1.0])
    assert np.allclose(m @ [2.0, 0.0, 0.0, 1.0], [2.0, 1.0, 0.0, 1.0])


def test_pose_gradient_matches_finite_differences_through_the_renderer():
    splats = make_synthetic_splats(60, seed=2, dtype=F64)
    cam = synthetic_camera(24, 24)
    c = asset_centre(splats)

    def brightness(v, t):
        return render(apply_rigid(splats, v, t, c), cam, backend="torch").rgb[6:18, 6:14].sum()

    v = torch.tensor([0.1, 0.05, -0.1], dtype=F64, requires_grad=True)
    t = torch.tensor([0.02, 0.0, 0.01], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(brightness, (v, t), eps=1e-6, atol=1e-5)
