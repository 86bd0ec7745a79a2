"""Linear blend skinning of splats by the control-point rig, batched over frames.

For splat i bound to control points k (indices [N, K], weights w [N, K] summing to 1),
with control point k at rest position p_k, rotated by R_k and translated by t_k in frame f:

    x'_i = sum_k w_ik (R_k (x_i - p_k) + p_k + t_k) = A_i x_i + b_i,
    A_i  = sum_k w_ik R_k,     b_i = sum_k w_ik (p_k + t_k - R_k p_k)

    q'_i = normalise(sum_k w_ik q_k) * q_i        (orientations; Hamilton product, w x y z)

This is what Blender's Armature modifier does to vertex positions with one bone per control
point, head at p_k, rest orientation the identity (bone along +Y, roll 0), pose location t_k
and pose rotation q_k: tests/blender/test_skinning_matches_armature.py checks it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..render.projection import quat_to_rotmat
from ..rig import Rig
from ..splats import Splats
from .pose import quat_multiply


def _check(indices: Tensor, weights: Tensor, num_points: int, rotations: Tensor) -> None:
    if indices.shape != weights.shape or indices.ndim != 2 or indices.shape[0] != num_points:
        raise ValueError(f"indices {tuple(indices.shape)} and weights {tuple(weights.shape)} "
                         f"must both be [N={num_points}, K]")
    if rotations.ndim != 3 or rotations.shape[-1] != 4:
        raise ValueError(f"rotations must be [F, P, 4] quaternions, got {tuple(rotations.shape)}")


def blend_affine(control_points: Tensor,  # [P, 3] rest positions p_k
                 rotations: Tensor,       # [F, P, 4] w x y z
                 translations: Tensor,    # [F, P, 3]
                 indices: Tensor,         # [N, K] long
                 weights: Tensor,         # [N, K]
                 ) -> tuple[Tensor, Tensor]:
    """Per-splat blended affine maps: A [F, N, 3, 3] and b [F, N, 3] (module docstring)."""
    R = quat_to_rotmat(rotations)                                            # [F, P, 3, 3]
    offset = control_points + translations - (R @ control_points[..., None])[..., 0]  # [F, P, 3]
    w = weights.to(R.dtype)
    A = (R[:, indices] * w[None, :, :, None, None]).sum(dim=2)               # [F, N, 3, 3]
    b = (offset[:, indices] * w[None, :, :, None]).sum(dim=2)                # [F, N, 3]
    return A, b


def skin_positions(means: Tensor,           # [N, 3] rest positions x_i
                   control_points: Tensor,  # [P, 3]
                   rotations: Tensor,       # [F, P, 4]
                   translations: Tensor,    # [F, P, 3]
                   indices: Tensor,         # [N, K]
                   weights: Tensor,         # [N, K]
                   ) -> Tensor:             # [F, N, 3]
    """x'_i = sum_k w_ik (R_k (x_i - p_k) + p_k + t_k), for every frame at once."""
    _check(indices, weights, means.shape[0], rotations)
    A, b = blend_affine(control_points, rotations, translations, indices.long(), weights)
    return (A @ means[None, :, :, None])[..., 0] + b


def skin_quaternions(quats: Tensor,      # [N, 4] rest orientations, w x y z
                     rotations: Tensor,  # [F, P, 4]
                     indices: Tensor,    # [N, K]
                     weights: Tensor,    # [N, K]
                     ) -> Tensor:        # [F, N, 4]
    """q'_i = normalise(sum_k w_ik q_k) * q_i. Control rotations are taken in the hemisphere
    of w >= 0 first, so q and -q (the same rotation) blend alike."""
    _check(indices, weights, quats.shape[0], rotations)
    signed = torch.where(rotations[..., :1] < 0, -rotations, rotations)
    blended = (signed[:, indices.long()] * weights.to(rotations.dtype)[None, :, :, None]).sum(2)
    blended = blended / blended.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return quat_multiply(blended, quats[None].expand_as(blended))


def posed_splats(splats: Splats, rig: Rig, rotations: np.ndarray, translations: np.ndarray
                 ) -> Splats:
    """The splats (rest, any fields) skinned by one frame's control-point motion: rotations
    [P, 4], translations [P, 3] -> Splats of float32 torch tensors."""
    s = splats.to_torch() if not torch.is_tensor(splats.means) else splats
    rot = torch.as_tensor(np.asarray(rotations), dtype=s.means.dtype)[None]
    trans = torch.as_tensor(np.asarray(translations), dtype=s.means.dtype)[None]
    cp = torch.as_tensor(rig.control_points, dtype=s.means.dtype)
    idx = torch.as_tensor(rig.indices, dtype=torch.long)
    w = torch.as_tensor(rig.weights, dtype=s.means.dtype)
    means = skin_positions(s.means, cp, rot, trans, idx, w)[0]
    quats = skin_quaternions(s.quats, rot, idx, w)[0]
    return Splats(means, quats, s.log_scales, s.opacity_logits, s.sh, s.normals)
