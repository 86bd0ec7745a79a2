"""The compiled CPU EWA projection: ``projection.project_gaussians``, built for speed.

One Numba pass over the splats forward and one backward (``_numba_projection_kernels``:
the maths and the hand-written gradients), wrapped in a ``torch.autograd.Function``.
Computed in float64, returned in the dtype of ``means``. The backward pass recomputes the
per-splat intermediates from the saved inputs and the forward's visibility mask rather than
storing them. Kernels compile once per machine (``cache=True``).

    >>> p = project_gaussians_numba(means, quats, log_scales, opacities, viewmat, K, 64, 48)
    >>> p.means2d.shape, p.conics.shape, p.radii.dtype
    (torch.Size([N, 2]), torch.Size([N, 3]), torch.int32)
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import RenderError
from . import _numba_projection_kernels as kernels
from .cpu_arrays import check_cpu_tensors, float64_array
from .projection import Projection


def project_gaussians_numba(
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
    """Projects N Gaussians into one pinhole camera, as ``project_gaussians`` does (the
    maths: ``projection``'s module docstring), on the CPU.

    Differentiable in means, quats and log_scales (through means2d, conics, depths and
    means_cam; culled splats pass back only their means_cam gradient). No gradient reaches
    opacities (the radius is not differentiable), viewmat or K, even where they require one.
    Raises RenderError for tensors off the CPU or of the wrong shape.
    """
    _check_inputs(means, quats, log_scales, opacities, viewmat, K)
    means2d, conics, depths, radii, means_cam = _ProjectNumba.apply(
        means, quats, log_scales, opacities, viewmat, K, int(width), int(height), float(near),
        float(far), float(eps2d), float(radius_clip))
    return Projection(means2d=means2d, conics=conics, depths=depths, radii=radii,
                      means_cam=means_cam)


class _ProjectNumba(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means, quats, log_scales, opacities, viewmat, K, width, height, near, far,
                eps2d, radius_clip):
        m, q, s, o, view, k = (float64_array(x) for x in (means, quats, log_scales, opacities,
                                                      viewmat, K))
        means2d, conics, depths, radii, means_cam, visible = kernels.forward(
            m, q, s, o, view, k, width, height, near, far, eps2d, radius_clip)
        ctx.save_for_backward(means, quats, log_scales, viewmat, K)
        ctx.saved = (width, height, eps2d, visible)
        radii = torch.from_numpy(radii)
        ctx.mark_non_differentiable(radii)
        cast = lambda a: torch.from_numpy(a).to(means.dtype)  # noqa: E731
        return cast(means2d), cast(conics), cast(depths), radii, cast(means_cam)

    @staticmethod
    def backward(ctx, v_means2d, v_conics, v_depths, v_radii, v_means_cam):
        means, quats, log_scales, viewmat, K = ctx.saved_tensors
        width, height, eps2d, visible = ctx.saved
        m, q, s, view, k = (float64_array(x) for x in (means, quats, log_scales, viewmat, K))
        v_means, v_quats, v_log_scales = kernels.backward(
            m, q, s, view, k, width, height, eps2d, visible, float64_array(v_means2d),
            float64_array(v_conics), float64_array(v_depths), float64_array(v_means_cam))
        cast = lambda a: torch.from_numpy(a).to(means.dtype)  # noqa: E731
        return (cast(v_means), cast(v_quats), cast(v_log_scales),
                None, None, None, None, None, None, None, None, None)


def _check_inputs(means, quats, log_scales, opacities, viewmat, K):
    """Raises RenderError naming the first tensor off the CPU or of the wrong shape."""
    tensors = {"means": means, "quats": quats, "log_scales": log_scales,
               "opacities": opacities, "viewmat": viewmat, "K": K}
    n = means.shape[0] if torch.is_tensor(means) and means.dim() == 2 else -1
    expected = {"means": (n, 3), "quats": (n, 4), "log_scales": (n, 3), "opacities": (n,),
                "viewmat": (4, 4), "K": (3, 3)}
    check_cpu_tensors(tensors, "project_gaussians_numba", "use projection.project_gaussians",
                      RenderError)
    for name, x in tensors.items():
        if n < 0 or tuple(x.shape) != expected[name]:
            raise RenderError(f"project_gaussians_numba: {name} has shape {list(x.shape)}, "
                              f"expected {_SHAPES[name]} (N = {n if n >= 0 else '?'})")


_SHAPES = {"means": "[N, 3]", "quats": "[N, 4]", "log_scales": "[N, 3]", "opacities": "[N]",
           "viewmat": "[4, 4]", "K": "[3, 3]"}
