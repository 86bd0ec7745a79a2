"""The Splats container: one Gaussian splat asset, in the .ply's own (object-local) frame.

Fields hold numpy arrays (as read from disk) or torch tensors (for rendering and
optimisation); ``to_torch`` and ``to_numpy`` convert. Storage follows the INRIA layout:
quaternions w, x, y, z (not necessarily normalised), scales as natural logs, opacities as
logits, colours as spherical-harmonic coefficients with the DC term first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from .errors import ShapeError

SH_C0 = 0.28209479177387814  # 1 / (2 sqrt(pi)): the degree-0 SH basis constant


def sh_degree_from_coeffs(num_coeffs: int) -> int:
    """(d + 1)^2 coefficients -> degree d; raises ShapeError for any other count."""
    d = math.isqrt(num_coeffs) - 1
    if d < 0 or (d + 1) ** 2 != num_coeffs:
        raise ShapeError("Splats.sh", (num_coeffs,), "1, 4, 9 or 16 coefficients",
                         f"{num_coeffs} SH coefficients is no degree: expected 1, 4, 9 or 16")
    return d


@dataclass
class Splats:
    """A set of N 3D Gaussians.

    means:          [N, 3]  centres, object-local coordinates
    quats:          [N, 4]  rotations as quaternions w, x, y, z (normalised on use)
    log_scales:     [N, 3]  natural logs of the per-axis standard deviations
    opacity_logits: [N]     logits of the opacities (opacity = sigmoid(logit))
    sh:             [N, (d+1)^2, 3]  SH coefficients per colour channel, DC first
    normals:        [N, 3] or None   kept only to round-trip files that carry them
    """

    means: Any
    quats: Any
    log_scales: Any
    opacity_logits: Any
    sh: Any
    normals: Any = None

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expected = {
            "means": (n, 3),
            "quats": (n, 4),
            "log_scales": (n, 3),
            "opacity_logits": (n,),
        }
        for name, shape in expected.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ShapeError(f"Splats.{name}", got, f"{shape} for N={n}")
        sh_shape = tuple(self.sh.shape)
        if len(sh_shape) != 3 or sh_shape[0] != n or sh_shape[2] != 3:
            raise ShapeError("Splats.sh", sh_shape, f"[N={n}, (d+1)^2, 3]")
        sh_degree_from_coeffs(sh_shape[1])
        if self.normals is not None and tuple(self.normals.shape) != (n, 3):
            raise ShapeError("Splats.normals", tuple(self.normals.shape), f"({n}, 3)")

    def __len__(self) -> int:
        return int(self.means.shape[0])

    @property
    def sh_degree(self) -> int:
        return sh_degree_from_coeffs(int(self.sh.shape[1]))

    def _map(self, fn) -> "Splats":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: (fn(v) if v is not None else None) for k, v in values.items()})

    def subset(self, index) -> "Splats":
        """The splats selected by a boolean mask or an index array [M]."""
        return self._map(lambda a: a[index])

    def to_torch(self, device=None, dtype=None) -> "Splats":
        """A copy holding torch tensors (float32 unless dtype is given) on device."""
        import torch  # the engine loads torch only where it is used

        dtype = dtype or torch.float32
        return self._map(lambda a: torch.as_tensor(np.asarray(a) if not torch.is_tensor(a) else a)
                         .to(device=device, dtype=dtype))

    def to_numpy(self) -> "Splats":
        """A copy holding float32 numpy arrays (detached from any graph)."""

        def conv(a):
            if hasattr(a, "detach"):
                a = a.detach().cpu().numpy()
            return np.asarray(a, dtype=np.float32)

        return self._map(conv)

    # Derived quantities (numpy or torch alike).
    def colors_dc(self):
        """[N, 3] base colour 0.5 + C0 * f_dc (before clamping)."""
        return 0.5 + SH_C0 * self.sh[:, 0, :]

    def opacities(self):
        """[N] opacities in (0, 1)."""
        x = self.opacity_logits
        if hasattr(x, "sigmoid"):
            return x.sigmoid()
        return 1.0 / (1.0 + np.exp(-x))
