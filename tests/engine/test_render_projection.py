"""EWA projection against an independent per-splat numpy float64 reference, known values,
culling rules, and gradients (gradcheck)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from spectralsplats_addon.engine.render.projection import project_gaussians

F64 = torch.float64
W, H = 64, 48
K = np.array([[70.0, 0.0, 30.0], [0.0, 75.0, 26.0], [0.0, 0.0, 1.0]])


def rotation(q):
    """Unit quaternion w, x, y, z -> 3 x 3 matrix, via the axis-angle (Rodrigues) form."""
    q = np.asarray(q, dtype=float) / np.linalg.norm(q)
    angle = 2 * math.atan2(np.linalg.norm(q[1:]), q[0])
    axis = q[1:] / max(np.linalg.norm(q[1:]), 1e-300)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


def reference_projection(mean, quat, log_scale, opacity, viewmat, K, width, height, near, far):
    """One splat: -> (mean2d, conic, depth, radii) with radii (0, 0) when culled."""
    rot, t = viewmat[:3, :3], viewmat[:3, 3]
    p = rot @ mean + t
    if not near <= p[2] <= far:
        return None
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    limits = [((width - cx) / fx + 0.15 * width / fx, cx / fx + 0.15 * width / fx),
              ((height - cy) / fy + 0.15 * height / fy, cy / fy + 0.15 * height / fy)]
    clamped = [p[2] * min(max(p[i] / p[2], -limits[i][1]), limits[i][0]) for i in range(2)]
    jac = np.array([[fx / p[2], 0, -fx * clamped[0] / p[2] ** 2],
                    [0, fy / p[2], -fy * clamped[1] / p[2] ** 2]])
    m = rotation(quat) @ np.diag(np.exp(log_scale))
    cov2d = jac @ rot @ m @ m.T @ rot.T @ jac.T + 0.3 * np.eye(2)
    if np.linalg.det(cov2d) <= 0 or opacity < 1 / 255:
        return None
    inv = np.linalg.inv(cov2d)
    extend = min(3.33, math.sqrt(2 * math.log(255 * opacity)))
    radii = np.ceil(extend * np.sqrt(np.diag(cov2d)))
    mean2d = np.array([fx * p[0] / p[2] + cx, fy * p[1] / p[2] + cy])
    if ((mean2d + radii <= 0) | (mean2d - radii >= [width, height])).any():
        return None
    return mean2d, np.array([inv[0, 0], inv[0, 1], inv[1, 1]]), p[2], radii


def random_splats(n, seed):
    rng = np.random.default_rng(seed)
    means = rng.uniform([-2, -2, -1], [2, 2, 6], size=(n, 3))
    quats = rng.normal(size=(n, 4)) * rng.uniform(0.4, 2.5, size=(n, 1))  # not normalised
    log_scales = rng.uniform(-3.5, -0.5, size=(n, 3))
    opacities = rng.uniform(0.0, 1.0, size=n)
    opacities[:4] = [0.001, 0.5 / 255, 1.5 / 255, 1.0]  # culled, culled, tiny box, full box
    return means, quats, log_scales, opacities


def viewmat_looking_down_z(shift=(0.1, -0.2, 1.5), angle=0.3):
    c, s = math.cos(angle), math.sin(angle)
    viewmat = np.eye(4)
    viewmat[:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    viewmat[:3, 3] = shift
    return viewmat


def project(means, quats, log_scales, opacities, viewmat, near=0.2, far=6.0, **kw):
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=F64)  # noqa: E731
    return project_gaussians(t(means), t(quats), t(log_scales), t(opacities), t(viewmat), t(K),
                             W, H, near=near, far=far, **kw)


def test_matches_the_per_splat_reference_including_culling_and_clamped_jacobians():
    means, quats, log_scales, opacities = random_splats(400, seed=0)
    viewmat = viewmat_looking_down_z()
    out = project(means, quats, log_scales, opacities, viewmat)
    kinds = {"culled": 0, "clamped": 0, "visible": 0}
    for i in range(len(means)):
        ref = reference_projection(means[i], quats[i], log_scales[i], opacities[i], viewmat, K,
                                   W, H, 0.2, 6.0)
        if ref is None:
            kinds["culled"] += 1
            assert out.radii[i].tolist() == [0, 0], i
            assert not out.means2d[i].any() and not out.conics[i].any() and out.depths[i] == 0
            continue
        mean2d, conic, depth, radii = ref
        kinds["visible"] += 1
        p = viewmat[:3, :3] @ means[i] + viewmat[:3, 3]
        margin = 0.15 * W / K[0, 0]
        kinds["clamped"] += int(not -K[0, 2] / K[0, 0] - margin <= p[0] / p[2]
                                <= (W - K[0, 2]) / K[0, 0] + margin)
        assert out.radii[i].tolist() == radii.astype(int).tolist(), i
        assert_close(out.means2d[i], torch.tensor(mean2d, dtype=F64), atol=1e-9, rtol=1e-12)
        assert_close(out.conics[i], torch.tensor(conic, dtype=F64), atol=1e-12, rtol=1e-9)
        assert out.depths[i].item() == pytest.approx(depth, abs=1e-12)
    assert kinds["culled"] > 50 and kinds["visible"] > 100 and kinds["clamped"] > 5, kinds


def test_a_sphere_on_the_optical_axis_projects_to_the_principal_point():
    """cov2d = (f s / z)^2 + 0.3 on each axis; radius = ceil(sqrt(2 ln(255 o)) sqrt(cov))."""
    s, z, o = 0.05, 2.0, 0.6
    out = project([[0, 0, z]], [[2, 0, 0, 0]], [[math.log(s)] * 3], [o], np.eye(4))
    var_x, var_y = (70 * s / z) ** 2 + 0.3, (75 * s / z) ** 2 + 0.3
    assert_close(out.means2d[0], torch.tensor([30.0, 26.0], dtype=F64))
    assert_close(out.conics[0], torch.tensor([1 / var_x, 0.0, 1 / var_y], dtype=F64))
    extend = math.sqrt(2 * math.log(255 * o))
    assert out.radii[0].tolist() == [math.ceil(extend * math.sqrt(var_x)),
                                     math.ceil(extend * math.sqrt(var_y))]


def test_quaternion_length_does_not_matter():
    means, quats, log_scales, opacities = random_splats(50, seed=1)
    a = project(means, quats, log_scales, opacities, viewmat_looking_down_z())
    b = project(means, quats * 3.7, log_scales, opacities, viewmat_looking_down_z())
    assert_close(a.conics, b.conics, atol=1e-12, rtol=1e-10)
    assert torch.equal(a.radii, b.radii)


@pytest.mark.parametrize("z, why", [(0.19, "in front of near"), (0.0, "at the camera centre"),
                                    (-1.0, "behind the camera"), (7.0, "beyond far")])
def test_depth_culling_gives_zero_radii_and_finite_gradients(z, why):
    means = torch.tensor([[0.0, 0.0, z], [0.1, 0.0, 2.0]], dtype=F64, requires_grad=True)
    quats = torch.tensor([[1.0, 0.2, 0.0, 0.0]] * 2, dtype=F64, requires_grad=True)
    log_scales = torch.full((2, 3), -2.0, dtype=F64, requires_grad=True)
    out = project_gaussians(means, quats, log_scales, torch.tensor([0.9, 0.9], dtype=F64),
                            torch.eye(4, dtype=F64), torch.as_tensor(K), W, H, near=0.2, far=6.0)
    assert out.radii[0].tolist() == [0, 0], why
    assert out.radii[1].min() > 0
    (out.means2d.sum() + out.conics.sum()).backward()
    for grad in (means.grad, quats.grad, log_scales.grad):
        assert torch.isfinite(grad).all(), why
        assert not grad[0].any(), why  # a culled splat gets no gradient
        assert grad[1].abs().sum() > 0


def test_boxes_wholly_off_screen_are_culled_and_boxes_touching_it_are_kept():
    """A splat left of the image with a radius r box: kept iff mean_x + r > 0 (flat along z,
    so that the Jacobian's z column adds nothing to its 2D covariance)."""
    z, s = 2.0, 0.02
    var = (70 * s / z) ** 2 + 0.3
    r = math.ceil(math.sqrt(2 * math.log(255 * 0.9)) * math.sqrt(var))
    u = [-(r - 0.5), -(r + 0.5)]  # box reaches x = 0.5 (kept), box ends at -0.5 (culled)
    means = [[(ui - 30.0) * z / 70.0, 0.0, z] for ui in u]
    log_scales = [[math.log(s), math.log(s), -20.0]] * 2
    out = project(means, [[1, 0, 0, 0]] * 2, log_scales, [0.9, 0.9], np.eye(4))
    assert_close(out.means2d[0, 0], torch.tensor(u[0], dtype=F64))
    assert out.radii[0, 0].item() == r and out.radii[0, 1].item() > 0
    assert out.radii[1].tolist() == [0, 0]


def test_gradcheck_through_the_projection():
    means, quats, log_scales, opacities = random_splats(40, seed=4)
    viewmat = viewmat_looking_down_z()
    keep = (project(means, quats, log_scales, opacities, viewmat).radii > 0).all(-1).numpy()
    assert keep.sum() >= 5
    args = [torch.tensor(a[keep], dtype=F64, requires_grad=True)
            for a in (means, quats, log_scales)]
    fixed = [torch.tensor(opacities[keep], dtype=F64)] + [torch.as_tensor(a) for a in (viewmat, K)]

    def fn(m, q, s):
        out = project_gaussians(m, q, s, *fixed, W, H, near=0.2, far=6.0)
        return out.means2d, out.conics, out.depths

    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-6, rtol=1e-5)
