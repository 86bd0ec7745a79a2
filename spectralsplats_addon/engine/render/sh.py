"""View-dependent colour from real spherical harmonics, degree 0 to 3 (3DGS / gsplat basis).

For a unit direction (x, y, z) from the camera centre to the splat, the basis is the real
SH with the Condon-Shortley phase, ordered m = -l..l within each degree l:

    l = 0:  C0
    l = 1:  -C1 y,  C1 z,  -C1 x
    l = 2:  C2a xy,  -C2a yz,  C2b (3z^2 - 1),  -C2a xz,  C2c (x^2 - y^2)
    l = 3:  -C3a y(3x^2 - y^2),  C3b xyz,  -C3c y(5z^2 - 1),  C3d z(5z^2 - 3),
            -C3c x(5z^2 - 1),  C3e z(x^2 - y^2),  -C3a x(x^2 - 3y^2)

and the colour of channel k is  max(0, 0.5 + sum_j basis_j(dir) sh[j, k]).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import RenderError

SH_C0 = 0.28209479177387814           # 1 / (2 sqrt(pi))
SH_C1 = 0.4886025119029199            # sqrt(3 / (4 pi))
SH_C2 = (1.0925484305920792,          # sqrt(15 / pi) / 2
         0.31539156525252005,         # sqrt(5 / pi) / 4
         0.5462742152960396)          # sqrt(15 / pi) / 4
SH_C3 = (0.5900435899266435,          # sqrt(35 / (2 pi)) / 4
         2.890611442640554,           # sqrt(105 / pi) / 2
         0.4570457994644658,          # sqrt(21 / (2 pi)) / 4
         0.3731763325901154,          # sqrt(7 / pi) / 4
         1.445305721320277)           # sqrt(105 / pi) / 4
MAX_SH_DEGREE = 3
DIRECTION_EPS = 1e-12  # a zero direction stays zero instead of becoming NaN


def num_sh_coeffs(degree: int) -> int:
    """(degree + 1)^2 basis functions up to and including ``degree``."""
    return (degree + 1) ** 2


def sh_basis(dirs: Tensor, degree: int) -> Tensor:
    """dirs [N, 3] (any length; normalised here) -> basis [N, (degree+1)^2] (module docstring)."""
    if not 0 <= degree <= MAX_SH_DEGREE:
        raise RenderError(f"SH degree {degree} is not supported: use 0 to {MAX_SH_DEGREE}")
    d = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(DIRECTION_EPS)
    x, y, z = d.unbind(-1)
    out = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [SH_C2[0] * x * y, -SH_C2[0] * y * z, SH_C2[1] * (2 * zz - xx - yy),
                -SH_C2[0] * x * z, SH_C2[2] * (xx - yy)]
    if degree >= 3:
        out += [-SH_C3[0] * y * (3 * xx - yy), SH_C3[1] * x * y * z,
                -SH_C3[2] * y * (4 * zz - xx - yy), SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
                -SH_C3[2] * x * (4 * zz - xx - yy), SH_C3[4] * z * (xx - yy),
                -SH_C3[0] * x * (xx - 3 * yy)]
    return torch.stack(out, dim=-1)


def eval_sh_colors(
    sh: Tensor,    # [N, M, 3] coefficients, M >= (degree + 1)^2, DC first
    dirs: Tensor,  # [N, 3] splat centre minus camera centre (normalised here)
    degree: int,
) -> Tensor:       # [N, 3]
    """Colours max(0, 0.5 + sum_{j < (degree+1)^2} basis_j(dirs) sh[:, j, :]).

    Coefficients past the degree are ignored, as in gsplat's ``sh_degree``.
    """
    m = num_sh_coeffs(degree)
    if sh.shape[1] < m:
        raise RenderError(f"SH degree {degree} needs {m} coefficients, "
                          f"the splats have {sh.shape[1]}")
    if degree == 0:  # the constant basis: no direction needed
        return (SH_C0 * sh[:, 0, :] + 0.5).clamp_min(0.0)
    basis = sh_basis(dirs, degree)  # [N, m]
    return (torch.einsum("nj,njk->nk", basis, sh[:, :m, :]) + 0.5).clamp_min(0.0)

