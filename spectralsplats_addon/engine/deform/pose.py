"""One rigid motion (SE(3)) of a whole splat asset about its centre, differentiable.

A pose is an axis-angle vector v (rotation R = exp([v]_x), angle |v| radians about v / |v|)
and a translation t. It moves every splat about the asset centre c:

    x'  = R (x - c) + c + t                      (centres)
    q'  = q(R) * q                               (orientations, w x y z Hamilton product)
    Y(d)^T sh' = Y(R^T d)^T sh                   (view-dependent colour turns with the asset)

R and q(R) come from engine/geometry.py (Rodrigues, finite at the identity).

Spherical harmonics of degree l span a space closed under rotation: Y_l(R^T d) = D_l Y_l(d)
for a (2l+1) x (2l+1) matrix D_l. ``rotate_sh`` finds it by least squares on a fixed set of
well-spread directions (exact, since the relation is linear and holds at every direction),
with the renderer's own basis, so it cannot disagree with the renderer's ordering or signs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from ..geometry import axis_angle_to_matrix, axis_angle_to_quat, quat_multiply, rotation_angle
from ..render.sh import sh_basis
from ..splats import Splats


@lru_cache(maxsize=4)
def _sample_directions(count: int = 64) -> np.ndarray:
    """count unit vectors on a Fibonacci sphere (well spread, deterministic).  # [count, 3]"""
    i = np.arange(count) + 0.5
    z = 1.0 - 2.0 * i / count
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    r = np.sqrt(1.0 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def sh_rotation(rotation: Tensor, degree: int) -> Tensor:
    """M [(d+1)^2, (d+1)^2] with Y(R^T d) = M^T Y(d) for every direction d, so that sh' = M sh
    turns the colour field with R: Y(d)^T sh' = Y(R^T d)^T sh.

    Least squares on the sample directions p_i (rows of P; rows of P R are (R^T p_i)^T):
    Y(P R) = Y(P) M, M = pinv(Y(P)) Y(P R). Block-diagonal by degree up to rounding.
    rotation: [3, 3] -> [(d+1)^2, (d+1)^2]
    """
    dirs = torch.as_tensor(_sample_directions(), dtype=rotation.dtype, device=rotation.device)
    basis = sh_basis(dirs, degree)  # [P, J]
    turned = sh_basis(dirs @ rotation, degree)  # [P, J]: rows Y(R^T p_i)
    return torch.linalg.pinv(basis) @ turned


def rotate_sh(sh: Tensor, rotation: Tensor) -> Tensor:
    """SH coefficients of a colour field turned by R.  sh: [N, (d+1)^2, 3], rotation [3, 3]."""
    degree = int(round(sh.shape[1] ** 0.5)) - 1
    if degree == 0:
        return sh
    return torch.einsum("ij,njk->nik", sh_rotation(rotation, degree), sh)


def asset_centre(splats: Splats, weighted: bool = True) -> Tensor:
    """c = sum_i o_i x_i / sum_i o_i (opacity-weighted), or the plain mean.  -> [3]"""
    means = torch.as_tensor(splats.means).detach()
    if not weighted:
        return means.mean(0)
    w = torch.as_tensor(splats.opacity_logits).detach().sigmoid()
    return (w[:, None] * means).sum(0) / w.sum().clamp_min(1e-12)


def asset_size(splats: Splats) -> float:
    """Length of the diagonal of the splat centres' bounding box (scene units)."""
    means = np.asarray(_to_numpy(splats.means), dtype=np.float64)
    return float(np.linalg.norm(means.max(0) - means.min(0)))


def apply_rigid(splats: Splats, rotvec: Tensor, translation: Tensor, centre: Tensor) -> Splats:
    """The splats moved by x' = R (x - c) + c + t, q' = q(R) q, sh turned with R.

    rotvec [3] axis-angle, translation [3], centre [3]; differentiable in all three and in
    the splats' fields. Scales, opacities and normals (turned with R) keep their meaning.
    """
    rotvec = rotvec.to(splats.means)
    translation = translation.to(splats.means)
    centre = torch.as_tensor(centre).to(splats.means)
    rot = axis_angle_to_matrix(rotvec)
    means = (splats.means - centre) @ rot.T + centre + translation
    quats = quat_multiply(axis_angle_to_quat(rotvec).expand_as(splats.quats), splats.quats)
    normals = None if splats.normals is None else torch.as_tensor(splats.normals).to(rot) @ rot.T
    return Splats(means, quats, splats.log_scales, splats.opacity_logits,
                  rotate_sh(splats.sh, rot), normals)


def rigid_matrix(rotvec, translation, centre) -> np.ndarray:
    """The 4x4 object transform of the pose: [[R, c + t - R c], [0, 1]] (float64)."""
    v = torch.as_tensor(_to_numpy(rotvec), dtype=torch.float64)
    rot = axis_angle_to_matrix(v).numpy()
    c = np.asarray(_to_numpy(centre), dtype=np.float64)
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = c + np.asarray(_to_numpy(translation), dtype=np.float64) - rot @ c
    return out


@dataclass
class RigidPose:
    """One SE(3) about the asset centre: rotation [3] axis-angle (radians), translation [3]
    (scene units). numpy float64; the identity is the asset where it stands."""

    rotation: np.ndarray
    translation: np.ndarray

    def __post_init__(self):
        self.rotation = np.asarray(_to_numpy(self.rotation), dtype=np.float64).reshape(3)
        self.translation = np.asarray(_to_numpy(self.translation), dtype=np.float64).reshape(3)

    @classmethod
    def identity(cls) -> "RigidPose":
        return cls(np.zeros(3), np.zeros(3))

    @property
    def angle_deg(self) -> float:
        return rotation_angle(self.rotation)

    def matrix(self, centre) -> np.ndarray:
        """[4, 4] object transform about ``centre`` [3] (rigid_matrix)."""
        return rigid_matrix(self.rotation, self.translation, centre)

    def apply(self, splats: Splats, centre) -> Splats:
        """The splats moved by this pose about ``centre`` (apply_rigid, no gradient needed)."""
        dtype = splats.means.dtype
        return apply_rigid(splats, torch.as_tensor(self.rotation, dtype=dtype),
                           torch.as_tensor(self.translation, dtype=dtype), centre)


def _to_numpy(x):
    if torch.is_tensor(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


__all__ = ["sh_rotation", "rotate_sh", "asset_centre", "asset_size",
           "apply_rigid", "rigid_matrix", "RigidPose"]
