"""Compiled linear blend skinning of one frame (the tracker's per-step pose), on the CPU.

The maths of ``skinning.skin_positions`` and ``skinning.skin_quaternions`` for one frame,

    x'_i = sum_k w_ik (R_k (x_i - p_k) + p_k + t_k)
    q'_i = normalise(sum_k w_ik s_k r_k) * q_i,   s_k = -1 where r_k's w < 0 else +1,

in Numba kernels (``_numba_skinning_kernels``) with a hand-written backward, wrapped in a
``torch.autograd.Function``. Differentiable in the control points' rotations and
translations only: the rest splats, the rest control points and the weights are constants
of the rig. Kernels compile once per machine (``cache=True``).

    >>> means, quats = skin_splats(s.means, s.quats, cp, rotations, translations, idx, w)
    >>> means.shape, quats.shape
    (torch.Size([N, 3]), torch.Size([N, 4]))
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..errors import SkinningError
from ..render.cpu_arrays import check_cpu_tensors, float64_array
from ..render.numba_helpers import sum_chunks
from . import _numba_skinning_kernels as kernels

CHUNKS = 16  # splat ranges with their own gradient buffer: fixed, so the bits never vary


def skin_splats(means: Tensor,           # [N, 3] rest positions x_i
                quats: Tensor,           # [N, 4] rest orientations q_i, w x y z
                control_points: Tensor,  # [P, 3] rest positions p_k
                rotations: Tensor,       # [P, 4] w x y z, any non-zero norm
                translations: Tensor,    # [P, 3]
                indices: Tensor,         # [N, K] long or int
                weights: Tensor,         # [N, K]
                ) -> tuple[Tensor, Tensor]:  # posed means [N, 3], posed quats [N, 4]
    """One frame's skinned splats (module docstring: the maths), equal to
    ``skin_positions(...)[0]`` and ``skin_quaternions(...)[0]`` with ``rotations[None]``,
    ``translations[None]``.

    Computed in float64 on the CPU; returned (with the gradients of rotations and
    translations) in the dtype of ``means``. Raises SkinningError (a ValueError) on bad
    shapes, dtypes, devices or indices, and when a rig constant requires grad.
    """
    _check_inputs(means, quats, control_points, rotations, translations, indices, weights)
    return _SkinSplats.apply(rotations, translations, means, quats, control_points,
                             indices, weights)


class _SkinSplats(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rotations, translations, means, quats, control_points, indices, weights):
        cp, rot = float64_array(control_points), float64_array(rotations)
        maps = kernels.control_point_maps(cp, rot, float64_array(translations))
        x, q = _numpy(means), _numpy(quats)
        idx = _numpy(indices.long())
        w = _numpy(weights.to(means.dtype))
        out_means = np.empty(x.shape, dtype=x.dtype)
        out_quats = np.empty(q.shape, dtype=x.dtype)
        kernels.forward(maps, x, q, idx, w, out_means, out_quats, CHUNKS)
        ctx.saved = (maps, x, q, idx, w, cp, rot)
        ctx.dtype = means.dtype
        return torch.from_numpy(out_means), torch.from_numpy(out_quats)

    @staticmethod
    def backward(ctx, v_means, v_quats):
        maps, x, q, idx, w, cp, rot = ctx.saved
        v_x = _numpy(v_means) if v_means is not None else np.zeros_like(x)
        v_q = _numpy(v_quats) if v_quats is not None else np.zeros_like(q)
        chunks = kernels.backward(maps, x, q, idx, w, v_x, v_q, CHUNKS)
        v_rot, v_trans = kernels.control_point_backward(cp, rot, sum_chunks(chunks))
        return (torch.from_numpy(v_rot).to(ctx.dtype), torch.from_numpy(v_trans).to(ctx.dtype),
                None, None, None, None, None)


def _numpy(x: Tensor) -> np.ndarray:
    """The tensor's values as a C-contiguous array of its own dtype (no copy where it is)."""
    return np.ascontiguousarray(x.detach().numpy())


def _check_inputs(means, quats, control_points, rotations, translations, indices, weights):
    """Raises SkinningError naming the first argument that breaks the contract."""
    tensors = {"means": means, "quats": quats, "control_points": control_points,
               "rotations": rotations, "translations": translations, "indices": indices,
               "weights": weights}
    check_cpu_tensors(tensors, "skin_splats", "skin with skinning.skin_positions and "
                      "skinning.skin_quaternions on that device", SkinningError)
    for name in ("means", "quats", "control_points", "weights"):
        if tensors[name].requires_grad:
            raise SkinningError(f"skin_splats is differentiable in rotations and translations "
                                f"only, but {name} requires grad: use skinning.skin_positions "
                                f"and skinning.skin_quaternions to differentiate the rig's "
                                f"{name}")
    n = means.shape[0] if means.dim() == 2 else -1
    p = control_points.shape[0] if control_points.dim() == 2 else -1
    k = indices.shape[1] if indices.dim() == 2 else -1
    expected = {"means": (n, 3), "quats": (n, 4), "control_points": (p, 3),
                "rotations": (p, 4), "translations": (p, 3), "indices": (n, k),
                "weights": (n, k)}
    for name, shape in expected.items():
        got = tuple(tensors[name].shape)
        if min(n, p, k) < 0 or got != shape:
            raise SkinningError(f"skin_splats: {name} has shape {list(got)}, expected "
                                f"{_SHAPES[name]} (N = {_known(n)}, P = {_known(p)}, "
                                f"K = {_known(k)})")
    dtype = means.dtype
    if dtype not in (torch.float32, torch.float64):
        raise SkinningError(f"skin_splats takes float32 or float64 tensors, got means as {dtype}")
    for name in ("quats", "control_points", "rotations", "translations"):
        if tensors[name].dtype != dtype:
            raise SkinningError(f"skin_splats: {name} is {tensors[name].dtype} but means is "
                                f"{dtype}; pass the splats and the motion in one dtype")
    if not weights.dtype.is_floating_point:
        raise SkinningError(f"skin_splats: weights must be a float tensor, got {weights.dtype}")
    if indices.dtype.is_floating_point or indices.dtype == torch.bool or indices.is_complex():
        raise SkinningError(f"skin_splats: indices must be an integer tensor (int64 or int32), "
                            f"got {indices.dtype}")
    if n > 0 and k > 0:
        low, high = torch.aminmax(indices)
        if low < 0 or high >= p:
            raise SkinningError(f"skin_splats: indices run from {int(low)} to {int(high)} but "
                                f"there are {p} control points; indices must lie in [0, {p - 1}] "
                                f"(build the rig and the motion from the same control points)")


_SHAPES = {"means": "[N, 3]", "quats": "[N, 4]", "control_points": "[P, 3]",
           "rotations": "[P, 4]", "translations": "[P, 3]", "indices": "[N, K]",
           "weights": "[N, K]"}


def _known(size: int) -> str:
    return str(size) if size >= 0 else "?"
