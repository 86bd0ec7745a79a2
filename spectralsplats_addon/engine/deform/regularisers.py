"""Regularisers of control-point motion: as-rigid-as-possible and temporal smoothness.

A control point k at rest position p_k moved by (R_k, t_k) is at x'_k = p_k + t_k (skinning
maps p_k to R_k (p_k - p_k) + p_k + t_k).

ARAP. For each control point i and its M nearest control points j (``neighbour_graph``),
with rest edges e_ij = p_j - p_i and deformed edges e'_ij = x'_j - x'_i, the rotation that
best maps the neighbourhood is fitted by SVD (Kabsch):

    H_i = sum_j e_ij e'_ij^T = U S V^T,   R_i = V diag(1, 1, det(V U^T)) U^T,

with no gradient through the fit, and

    L_arap = mean over frames, i, j of |e'_ij - R_i e_ij|^2 / |e_ij|^2,

0 for any rigid motion of the control points, scale-free.

Temporal smoothness (second differences: acceleration, so motion at constant velocity costs
nothing; first differences where only two frames are given):

    L_temp = mean |t_{f+1} - 2 t_f + t_{f-1}|^2 / size^2 + mean |q_{f+1} - 2 q_f + q_{f-1}|^2

with quaternions taken in the w >= 0 hemisphere first.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from ..rig import nearest_control_points


def neighbour_graph(control_points: np.ndarray, neighbours: int = 6) -> np.ndarray:
    """For control points [P, 3]: the indices [P, M] of each one's M nearest others
    (M = min(neighbours, P - 1)), nearest first (rig.nearest_control_points)."""
    count = np.asarray(control_points).shape[0]
    if count < 2:
        raise ConfigError(f"the ARAP regulariser needs at least 2 control points, got {count}; "
                          "set arap_weight to 0 for a one-point rig")
    indices, _ = nearest_control_points(control_points, control_points,
                                        min(neighbours, count - 1) + 1)
    return indices[:, 1:].astype(np.int64)


def kabsch_rotations(rest_edges: Tensor, deformed_edges: Tensor) -> Tensor:
    """Best rotations R_i mapping rest edges to deformed edges (no reflection), detached.
    rest_edges, deformed_edges: [..., M, 3] -> [..., 3, 3]"""
    with torch.no_grad():
        H = rest_edges.transpose(-1, -2) @ deformed_edges                    # [..., 3, 3]
        U, _, Vh = torch.linalg.svd(H.double())
        V = Vh.transpose(-1, -2)
        d = torch.det(V @ U.transpose(-1, -2))
        D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
        return (V @ D @ U.transpose(-1, -2)).to(rest_edges.dtype)


def arap_loss(rest_points: Tensor,   # [P, 3] control points p_k at rest
              neighbours: Tensor,    # [P, M] long, neighbour_graph
              translations: Tensor,  # [F, P, 3]
              ) -> Tensor:           # []
    """mean |e'_ij - R_i e_ij|^2 / |e_ij|^2 with R_i fitted by Kabsch (module docstring).
    Only the control points' positions x'_k = p_k + t_k enter; their rotations do not."""
    neighbours = torch.as_tensor(neighbours, dtype=torch.long, device=rest_points.device)
    rest_edges = rest_points[neighbours] - rest_points[:, None]              # [P, M, 3]
    moved = rest_points + translations                                       # [F, P, 3]
    deformed_edges = moved[:, neighbours] - moved[:, :, None]                # [F, P, M, 3]
    R = kabsch_rotations(rest_edges.expand_as(deformed_edges), deformed_edges)  # [F, P, 3, 3]
    fitted = (R[:, :, None] @ rest_edges[None, :, :, :, None])[..., 0]      # [F, P, M, 3]
    length2 = (rest_edges ** 2).sum(-1).clamp_min(1e-12)                     # [P, M]
    return (((deformed_edges - fitted) ** 2).sum(-1) / length2).mean()


def _differences(x: Tensor, order: int) -> Tensor:
    for _ in range(order):
        x = x[1:] - x[:-1]
    return x


def temporal_smoothness(translations: Tensor,  # [F, P, 3]
                        rotations: Tensor,     # [F, P, 4]
                        size: float = 1.0,
                        ) -> Tensor:           # []
    """Mean squared second differences over frames (first differences for F = 2, 0 for
    F = 1) of t / size and of the quaternions (module docstring)."""
    frames = translations.shape[0]
    if frames < 2:
        return translations.sum() * 0.0
    order = min(2, frames - 1)
    q = torch.where(rotations[..., :1] < 0, -rotations, rotations)
    return ((_differences(translations / size, order) ** 2).sum(-1).mean()
            + (_differences(q, order) ** 2).sum(-1).mean())


__all__ = ["neighbour_graph", "kabsch_rotations", "arap_loss", "temporal_smoothness"]
