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

from typing import NamedTuple

import torch
from torch import Tensor

from ..errors import ShapeError
from ..geometry import quat_multiply, quat_to_rotmat
from ..rig import Rig
from ..splats import Splats


def _check(indices: Tensor, weights: Tensor, num_points: int, rotations: Tensor) -> None:
    if indices.shape != weights.shape or indices.ndim != 2 or indices.shape[0] != num_points:
        raise ShapeError("indices", tuple(indices.shape), f"[N={num_points}, K]",
                         f"indices {tuple(indices.shape)} and weights {tuple(weights.shape)} "
                         f"must both be [N={num_points}, K]")
    if rotations.ndim != 3 or rotations.shape[-1] != 4:
        raise ShapeError("rotations", tuple(rotations.shape), "[F, P, 4]",
                         f"rotations must be [F, P, 4] quaternions, got {tuple(rotations.shape)}")


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


class RigTensors(NamedTuple):
    """A rig's arrays as tensors beside the splats they move (what a loop converts once)."""

    control_points: Tensor  # [P, 3]
    indices: Tensor         # [N, K] long
    weights: Tensor         # [N, K]

    @classmethod
    def of(cls, rig: Rig, like: Tensor) -> "RigTensors":
        """The rig on ``like``'s device, positions and weights in its dtype."""
        return cls(torch.as_tensor(rig.control_points, dtype=like.dtype, device=like.device),
                   torch.as_tensor(rig.indices, dtype=torch.long, device=like.device),
                   torch.as_tensor(rig.weights, dtype=like.dtype, device=like.device))


def pose_splats(splats: Splats, rig: Rig | RigTensors, rotations, translations, *,
                compiled: bool = False) -> Splats:
    """The splats (rest, any fields; numpy is read as float32 torch) skinned by one frame's
    control-point motion: rotations [P, 4], translations [P, 3] (arrays or tensors, kept
    differentiable). compiled: through the Numba kernels (skinning_numba.py, the same maths)
    where they apply, CPU splats that need no gradient. -> Splats of torch tensors."""
    s = splats.to_torch() if not torch.is_tensor(splats.means) else splats
    like = s.means
    r = rig if isinstance(rig, RigTensors) else RigTensors.of(rig, like)
    rot = torch.as_tensor(rotations, dtype=like.dtype, device=like.device)
    trans = torch.as_tensor(translations, dtype=like.dtype, device=like.device)
    if compiled and like.device.type == "cpu" and not like.requires_grad:
        from .skinning_numba import skin_splats

        means, quats = skin_splats(s.means, s.quats, r.control_points, rot, trans, r.indices,
                                   r.weights)
    else:
        means = skin_positions(s.means, r.control_points, rot[None], trans[None], r.indices,
                               r.weights)[0]
        quats = skin_quaternions(s.quats, rot[None], r.indices, r.weights)[0]
    return Splats(means, quats, s.log_scales, s.opacity_logits, s.sh, s.normals)
