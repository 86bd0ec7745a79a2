"""EWA projection of 3D Gaussians to the image plane (the semantics of gsplat 1.5.3's
``fully_fused_projection`` for a pinhole camera), differentiable through autograd.

For a splat with centre mu, rotation R_q (from the normalised quaternion) and scales
s = exp(log_scales), in a camera with world-to-camera rotation W and translation t:

    Sigma   = R_q diag(s^2) R_q^T                     3D covariance (world)
    t_c     = W mu + t = (x, y, z)                    camera-space centre, z = depth
    mean2d  = (fx x / z + cx, fy y / z + cy)
    J       = [[fx / z, 0, -fx x' / z^2],             perspective Jacobian, where
               [0, fy / z, -fy y' / z^2]]             x' = z clamp(x / z, -lim_x-, lim_x+)
    cov2d   = J W Sigma W^T J^T + eps2d I             (y' likewise)
    conic   = inverse(cov2d) as (a, b, c) = (cov_yy, -cov_xy, cov_xx) / det

with the clamp limits lim_x+ = (width - cx) / fx + 0.3 tan_fovx, lim_x- = cx / fx + 0.3
tan_fovx, tan_fovx = width / (2 fx) (y likewise): splats far off screen keep a bounded
Jacobian. The box radius is opacity-aware (gsplat, after arXiv 2402.00525):

    extend   = min(3.33, sqrt(2 ln(255 opacity)))
    radius_x = ceil(extend sqrt(cov2d_xx)),  radius_y = ceil(extend sqrt(cov2d_yy))

so every pixel where opacity exp(-sigma) >= 1/255 lies inside the box. A splat is culled
(radii 0, means2d/conics/depths 0) if z < near or z > far, det(cov2d) <= 0, opacity < 1/255,
both radii <= radius_clip, or its box lies wholly off the image.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ..geometry import quat_to_rotmat

ALPHA_THRESHOLD = 1.0 / 255.0  # the smallest alpha a splat contributes with
MAX_EXTEND = 3.33  # the widest box half-extent, in standard deviations
FOV_CLAMP_MARGIN = 0.3  # the Jacobian clamp goes 30% of the half field of view past the image


class Projection(NamedTuple):
    """A splat set projected into one camera (culled splats: radii 0 and zeros elsewhere).

    means2d:    [N, 2] pixel coordinates of the centres (x right, y down, centres at +0.5)
    conics:     [N, 3] (a, b, c): upper triangle of the inverse 2D covariance
    depths:     [N]    camera-space z
    radii:      [N, 2] int32 box half-extents in pixels
    means_cam:  [N, 3] camera-space centres (not zeroed for culled splats)
    """

    means2d: Tensor
    conics: Tensor
    depths: Tensor
    radii: Tensor
    means_cam: Tensor


def covariance_3d(quats: Tensor, log_scales: Tensor) -> Tensor:
    """quats [N, 4], log_scales [N, 3] -> [N, 3, 3] Sigma = R diag(exp(2 log_s)) R^T."""
    m = quat_to_rotmat(quats) * log_scales.exp()[:, None, :]  # R S
    return m @ m.transpose(-1, -2)


def project_gaussians(
    means: Tensor,       # [N, 3] world centres
    quats: Tensor,       # [N, 4] w, x, y, z, normalised here
    log_scales: Tensor,  # [N, 3] exponentiated here
    opacities: Tensor,   # [N] in [0, 1] (after the sigmoid), for the opacity-aware radius
    viewmat: Tensor,     # [4, 4] world-to-camera, OpenCV axes
    K: Tensor,           # [3, 3] pixel intrinsics
    width: int,
    height: int,
    near: float = 0.01,
    far: float = 1e10,
    eps2d: float = 0.3,
    radius_clip: float = 0.0,
) -> Projection:
    """Projects N Gaussians into one pinhole camera (module docstring: the math).

    Differentiable in means, quats, log_scales (and opacities through nothing but the
    non-differentiable radius). Returns tensors in the dtype of ``means``.

        >>> p = project_gaussians(means, quats, log_scales, opacities, viewmat, K, 64, 48)
        >>> p.means2d.shape, p.conics.shape, p.radii.dtype
        (torch.Size([N, 2]), torch.Size([N, 3]), torch.int32)
    """
    rot_w, trans_w = viewmat[:3, :3], viewmat[:3, 3]
    means_cam = means @ rot_w.T + trans_w  # [N, 3]
    cov_cam = rot_w @ covariance_3d(quats, log_scales) @ rot_w.T  # [N, 3, 3]

    x, y, z = means_cam.unbind(-1)
    in_depth = (z >= near) & (z <= far)
    z_safe = torch.where(in_depth, z, torch.ones_like(z))  # keeps culled splats finite
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + FOV_CLAMP_MARGIN * tan_fovx
    lim_x_neg = cx / fx + FOV_CLAMP_MARGIN * tan_fovx
    lim_y_pos = (height - cy) / fy + FOV_CLAMP_MARGIN * tan_fovy
    lim_y_neg = cy / fy + FOV_CLAMP_MARGIN * tan_fovy
    tx = z_safe * torch.minimum(torch.maximum(x / z_safe, -lim_x_neg), lim_x_pos)
    ty = z_safe * torch.minimum(torch.maximum(y / z_safe, -lim_y_neg), lim_y_pos)

    zero = torch.zeros_like(z)
    jac = torch.stack([fx / z_safe, zero, -fx * tx / z_safe**2,
                       zero, fy / z_safe, -fy * ty / z_safe**2], dim=-1).reshape(-1, 2, 3)
    cov2d = jac @ cov_cam @ jac.transpose(-1, -2)  # [N, 2, 2]
    cov_xx = cov2d[:, 0, 0] + eps2d
    cov_yy = cov2d[:, 1, 1] + eps2d
    cov_xy = 0.5 * (cov2d[:, 0, 1] + cov2d[:, 1, 0])
    det = cov_xx * cov_yy - cov_xy * cov_xy
    det_ok = det > 0
    det_safe = torch.where(det_ok, det, torch.ones_like(det))
    conics = torch.stack([cov_yy, -cov_xy, cov_xx], dim=-1) / det_safe[:, None]
    means2d = torch.stack([fx * x / z_safe + cx, fy * y / z_safe + cy], dim=-1)

    radii, visible = _opacity_aware_radii(means2d.detach(), cov_xx.detach(), cov_yy.detach(),
                                          opacities.detach(), in_depth & det_ok,
                                          width, height, radius_clip)
    keep = visible[:, None]
    return Projection(
        means2d=torch.where(keep, means2d, torch.zeros_like(means2d)),
        conics=torch.where(keep, conics, torch.zeros_like(conics)),
        depths=torch.where(visible, z, torch.zeros_like(z)),
        radii=radii,
        means_cam=means_cam,
    )


def _opacity_aware_radii(
    means2d: Tensor,    # [N, 2]
    cov_xx: Tensor,     # [N] blurred 2D variance along x
    cov_yy: Tensor,     # [N]
    opacities: Tensor,  # [N]
    valid: Tensor,      # [N] bool: depth and determinant tests passed
    width: int,
    height: int,
    radius_clip: float,
) -> tuple[Tensor, Tensor]:
    """-> radii [N, 2] int32 (0 where culled) and visible [N] bool."""
    opacities = opacities.to(cov_xx.dtype)
    bright = opacities >= ALPHA_THRESHOLD
    safe = torch.where(bright, opacities, torch.ones_like(opacities))
    log_ratio = torch.log(safe / ALPHA_THRESHOLD)
    extend = torch.sqrt(2.0 * log_ratio).clamp_max(MAX_EXTEND)
    radius_x = torch.ceil(extend * cov_xx.clamp_min(0).sqrt())
    radius_y = torch.ceil(extend * cov_yy.clamp_min(0).sqrt())
    mx, my = means2d.unbind(-1)
    on_screen = ((mx + radius_x > 0) & (mx - radius_x < width)
                 & (my + radius_y > 0) & (my - radius_y < height))
    big_enough = (radius_x > radius_clip) | (radius_y > radius_clip)
    visible = valid & bright & big_enough & on_screen
    radii = torch.stack([radius_x, radius_y], dim=-1)
    radii = torch.where(visible[:, None], radii, torch.zeros_like(radii))
    return radii.to(torch.int32), visible


def camera_centre(viewmat: Tensor) -> Tensor:
    """[4, 4] world-to-camera -> [3] camera centre in the world, -W^T t."""
    return -viewmat[:3, :3].T @ viewmat[:3, 3]


__all__ = ["Projection", "project_gaussians", "covariance_3d", "camera_centre",
           "ALPHA_THRESHOLD", "MAX_EXTEND"]


def mass_ratio(conics: Tensor, d: float) -> Tensor:
    """sqrt(det(M + d I) / det M) for 2D covariances M given by conics [N, 3] = inverse of M
    (1 where culled), detached: the opacity factor that gives a splat blurred to M the alpha
    mass it would have with d more blur.  # [N]"""
    a, b, c = conics.detach().unbind(-1)
    det_conic = a * c - b * b  # 1 / det M
    ok = det_conic > 0
    det_m = 1.0 / torch.where(ok, det_conic, torch.ones_like(det_conic))
    tr_m = (a + c) * det_m
    ratio = ((det_m + d * tr_m + d * d) / det_m).clamp(0.0, 1.0)
    return torch.where(ok, ratio.sqrt(), torch.ones_like(ratio))
