"""Rotations: axis-angle vectors, quaternions and matrices, differentiable (the one home of
this maths; render/numba_helpers.py holds its compiled twins for the kernels).

Quaternions are w, x, y, z (Hamilton product). An axis-angle vector v turns by th = |v|
radians about v / |v|. Rodrigues:

    R(v) = I + A [v]_x + B [v]_x^2,   A = sin(th)/th,   B = (1 - cos(th))/th^2
    q(v) = (cos(th/2), v sin(th/2)/th)

Near th = 0 the ratios use their Taylor series, so values and gradients are finite at the
identity. For a unit quaternion q = (w, x, y, z):

    R(q) = [[1 - 2(y^2 + z^2), 2(xy - wz), 2(xz + wy)],
            [2(xy + wz), 1 - 2(x^2 + z^2), 2(yz - wx)],
            [2(xz - wy), 2(yz + wx), 1 - 2(x^2 + y^2)]]
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

SMALL_ANGLE2 = 1e-8  # th^2 below which the Taylor series replace sin/th and (1 - cos)/th^2


def _safe_ratios(theta2: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(A, B, cos(th/2), sin(th/2)/th) for th^2 = theta2 [...], finite with finite gradients."""
    small = theta2 < SMALL_ANGLE2
    t2 = torch.where(small, torch.ones_like(theta2), theta2)
    th = t2.sqrt()
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(th) / th)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(th)) / t2)
    half_cos = torch.where(small, 1.0 - theta2 / 8.0, torch.cos(th / 2))
    half_sinc = torch.where(small, 0.5 - theta2 / 48.0, torch.sin(th / 2) / th)
    return a, b, half_cos, half_sinc


def hat(v: Tensor) -> Tensor:
    """Cross-product matrix [v]_x with [v]_x w = v x w.  v: [..., 3] -> [..., 3, 3]"""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    rows = [zero, -z, y, z, zero, -x, -y, x, zero]
    return torch.stack(rows, dim=-1).reshape(v.shape[:-1] + (3, 3))


def axis_angle_to_matrix(rotvec: Tensor) -> Tensor:
    """R = I + A [v]_x + B [v]_x^2 (Rodrigues).  rotvec: [..., 3] -> [..., 3, 3]"""
    a, b, _, _ = _safe_ratios((rotvec * rotvec).sum(-1))
    k = hat(rotvec)
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device).expand(k.shape)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def axis_angle_to_quat(rotvec: Tensor) -> Tensor:
    """q = (cos(th/2), v sin(th/2)/th), w x y z.  rotvec: [..., 3] -> [..., 4]"""
    _, _, half_cos, half_sinc = _safe_ratios((rotvec * rotvec).sum(-1))
    return torch.cat([half_cos[..., None], rotvec * half_sinc[..., None]], dim=-1)


def quat_multiply(p: Tensor, q: Tensor) -> Tensor:
    """Hamilton product p * q (w x y z); p then q as rotations is q(R_p R_q).
    p, q: [..., 4] -> [..., 4]"""
    pw, px, py, pz = p.unbind(-1)
    qw, qx, qy, qz = q.unbind(-1)
    return torch.stack([
        pw * qw - px * qx - py * qy - pz * qz,
        pw * qx + px * qw + py * qz - pz * qy,
        pw * qy - px * qz + py * qw + pz * qx,
        pw * qz + px * qy - py * qx + pz * qw,
    ], dim=-1)


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """R(q / |q|) (module docstring).  quats: [..., 4] w x y z, any non-zero norm
    -> [..., 3, 3]"""
    w, x, y, z = (quats / quats.norm(dim=-1, keepdim=True)).unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]
    return torch.stack(rows, dim=-1).reshape(quats.shape[:-1] + (3, 3))


def matrix_to_quat(rot: np.ndarray) -> np.ndarray:
    """The unit quaternion (w x y z, w >= 0) of a rotation matrix [3, 3]: the eigenvector of
    the largest eigenvalue of Bar-Itzhack's symmetric 4 x 4 matrix.  -> [4] float64"""
    (xx, yx, zx), (xy, yy, zy), (xz, yz, zz) = np.asarray(rot, dtype=np.float64)  # R^T's names
    k = np.array([[xx - yy - zz, yx + xy, zx + xz, yz - zy],
                  [yx + xy, yy - xx - zz, zy + yz, zx - xz],
                  [zx + xz, zy + yz, zz - xx - yy, xy - yx],
                  [yz - zy, zx - xz, xy - yx, xx + yy + zz]]) / 3.0
    x, y, z, w = np.linalg.eigh(k)[1][:, -1]
    q = np.array([w, x, y, z])
    return q if q[0] >= 0 else -q


def rotation_angle(rotvec) -> float:
    """The rotation's angle in degrees, |v| wrapped to [0, 180].  rotvec: [3] (array or
    tensor)"""
    if torch.is_tensor(rotvec):
        rotvec = rotvec.detach().cpu().numpy()
    angle = float(np.linalg.norm(np.asarray(rotvec, dtype=np.float64))) % (2 * np.pi)
    return float(np.degrees(min(angle, 2 * np.pi - angle)))


__all__ = ["SMALL_ANGLE2", "hat", "axis_angle_to_matrix", "axis_angle_to_quat",
           "quat_multiply", "quat_to_rotmat", "matrix_to_quat", "rotation_angle"]
