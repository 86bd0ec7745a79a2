"""View-dependent colour of a scaled, sheared or rotated object: rendering the splats in the
object's frame (camera viewmat @ object matrix) must give the image of the same splats
baked into world space, SH included (the rule of docs/conventions.md: the SH turn with the
object's rotation and do not stretch with its scale or shear)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.conventions import Camera
from spectralsplats_addon.engine.render import render
from spectralsplats_addon.engine.render.projection import (camera_centre, covariance_3d,
                                                           view_directions)
from spectralsplats_addon.engine.splats import Splats
from spectralsplats_addon.engine.geometry import matrix_to_quat
from spectralsplats_addon.lab.synthetic import make_synthetic_splats, synthetic_camera

F64 = torch.float64
# degree-1 SH basis = C1 * PERM @ d (3DGS order: -y, z, -x)
PERM = np.array([[0.0, -1, 0], [0, 0, 1], [-1, 0, 0]])


def rotation(axis, degrees):
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    a = math.radians(degrees)
    return np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * k @ k


def polar_rotation(a):
    left, _, right_t = np.linalg.svd(a)
    return left @ right_t


STRETCH = rotation([1, 2, 0.5], 35) @ np.diag([1.6, 0.7, 1.2]) @ rotation([1, 2, 0.5], 35).T
SHEAR = np.array([[1.0, 0.4, 0.0], [0.0, 1.0, -0.3], [0.2, 0.0, 1.0]])
CASES = {
    "uniform scale 1.5": 1.5 * np.eye(3),
    "scale 1.5, rotated parent": 1.5 * rotation([0.3, -1, 0.4], 50),
    "symmetric stretch (rotation-free)": STRETCH,
    "sheared, rotated parent": rotation([1, 0, 1], -30) @ SHEAR,
}


def object_matrix(linear):
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = [0.2, -0.1, 0.15]
    return matrix


def splats_with_view_dependence(degree):
    splats = make_synthetic_splats(300, seed=7, sh_degree=degree, extent=0.8, dtype=F64)
    splats.sh[:, 1:, :] *= 4.0  # view dependence well above rounding
    return splats


def baked_into_world(splats, matrix):
    """Positions and covariances by the matrix; degree-1 SH turned by its rotation factor
    (higher degrees are left to rotation-free matrices, where the SH stay as they are)."""
    linear = torch.as_tensor(matrix[:3, :3], dtype=F64)
    means = splats.means @ linear.T + torch.as_tensor(matrix[:3, 3], dtype=F64)
    cov = linear @ covariance_3d(splats.quats, splats.log_scales) @ linear.T
    variances, axes = torch.linalg.eigh(cov)
    axes = axes * torch.sign(torch.linalg.det(axes))[:, None, None]
    quats = torch.as_tensor(np.stack([matrix_to_quat(r) for r in axes.numpy()]), dtype=F64)
    sh = splats.sh.clone()
    turn = polar_rotation(matrix[:3, :3])
    if sh.shape[1] > 1:
        turn_sh = torch.as_tensor(PERM @ turn @ PERM.T)
        sh[:, 1:4, :] = torch.einsum("ij,njk->nik", turn_sh, sh[:, 1:4, :])
    return Splats(means, quats, 0.5 * variances.log(), splats.opacity_logits, sh)


def in_object_frame(camera, matrix):
    return Camera(camera.viewmat @ matrix, camera.K, camera.width, camera.height,
                  near=camera.near, far=camera.far)


@pytest.mark.parametrize("degree,case", [(1, name) for name in CASES]
                         + [(3, "uniform scale 1.5"), (3, "symmetric stretch (rotation-free)")])
@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_object_frame_render_matches_the_splats_baked_into_world(degree, case, backend):
    splats = splats_with_view_dependence(degree)
    matrix = object_matrix(CASES[case])
    world_camera = synthetic_camera(48, 40, extent=2.0)
    local = render(splats, in_object_frame(world_camera, matrix), backend=backend)
    world = render(baked_into_world(splats, matrix), world_camera, backend=backend)
    assert float(world.alpha.max()) > 0.5  # the object is in view
    assert torch.allclose(local.alpha, world.alpha, atol=1e-8)
    assert torch.allclose(local.rgb, world.rgb, atol=1e-8)


@pytest.mark.parametrize("case", list(CASES))
def test_camera_centre_is_the_world_centre_mapped_into_the_object(case):
    matrix = object_matrix(CASES[case])
    world_camera = synthetic_camera(48, 40, extent=2.0)
    world_centre = np.linalg.inv(world_camera.viewmat)[:3, 3]
    expected = (np.linalg.inv(matrix) @ np.append(world_centre, 1.0))[:3]
    local = torch.as_tensor(world_camera.viewmat @ matrix, dtype=F64)
    assert np.allclose(camera_centre(local).numpy(), expected, atol=1e-12)


def test_a_scaled_object_sees_its_splats_from_the_world_directions():
    """The issue's case (scale 1.5): the rule -W^T t put the camera at 2.25x its distance and
    turned the SH directions by degrees; view_directions agrees with the world's."""
    matrix = object_matrix(CASES["uniform scale 1.5"])
    world_camera = synthetic_camera(48, 40, extent=2.0)
    splats = splats_with_view_dependence(1)
    local_view = torch.as_tensor(world_camera.viewmat @ matrix, dtype=F64)
    world_dirs = (baked_into_world(splats, matrix).means
                  - torch.as_tensor(np.linalg.inv(world_camera.viewmat)[:3, 3]))
    ours = view_directions(splats.means, local_view)
    unit = torch.nn.functional.normalize
    assert torch.allclose(unit(ours, dim=-1), unit(world_dirs, dim=-1), atol=1e-12)
    w, t = local_view[:3, :3], local_view[:3, 3]
    old = unit(splats.means + w.T @ t, dim=-1)
    degrees = torch.rad2deg(torch.acos((old * unit(world_dirs, dim=-1)).sum(-1).clamp(-1, 1)))
    assert float(degrees.mean()) > 1.0  # the old rule was measurably wrong here
