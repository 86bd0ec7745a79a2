"""Render the spectral phase at the lowest resolution that holds its supervised frequencies.

While the annealing parameter is alpha, band j has weight only for j < alpha (engine/
schedule.py), so radii r < 2^ceil(alpha) cycles per image are all the loss sees. Each
component of such a k is below 2^ceil(alpha), which a side of S pixels holds without
aliasing when S/2 >= 2^ceil(alpha): the side needed is

    S(alpha) = 2^(ceil(alpha) + 1),   never below ``min_side`` (32 px),

and the image is rendered at the full size divided by the largest power of two 2^m that
keeps the shorter side at or above S(alpha) and divides both sides exactly. The moments are
normalised as means (engine/loss/spectral.py), so the loss keeps its scale across levels.

The target at level m is the full target averaged over 2^m x 2^m blocks (area averaging),
the camera is ``Camera.resized`` (K scaled by 2^-m: pixel centres stay at +0.5). The spatial
phase always runs at the full size.

Blur at a level. The renderer adds eps = 0.3 px^2 to every projected covariance S (in the
pixels it renders) and keeps the opacity, so at a level f down a sub-pixel splat would cover
o 2 pi sqrt(det(S + eps I)), far more than the o 2 pi sqrt(det(S + (eps/f^2) I)) it has in the
full-size render averaged down (measured: 1.5x the alpha mass at f = 2, 3x at f = 4 for the
donut at 64 px, which the loss reads as the asset being nearer). A level is therefore
rendered with the blur of the averaged target, eps_f = eps / f^2 + 1/12 (the full-size blur
seen at the level, plus the variance of a one-pixel box), and opacities scaled so each splat
keeps its full-size mass:

    o_f = o * sqrt(det(S + (eps/f^2) I) / det(S + eps_f I))    (a constant in the step),

det(M + d I) = det M + d tr M + d^2 for 2 x 2 matrices, M = S + eps_f I from the conics.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..conventions import Camera
from ..errors import ConfigError
from ..render.api import EPS2D, render
from ..splats import Splats

MIN_SIDE = 32


def side_for_alpha(alpha: float, min_side: int = MIN_SIDE) -> int:
    """S(alpha) = max(min_side, 2^(ceil(alpha) + 1)): the side that holds every weighted band."""
    top = max(0, math.ceil(alpha - 1e-9))
    return max(int(min_side), 2 ** (top + 1))


def downsample_factor(alpha: float, width: int, height: int, min_side: int = MIN_SIDE) -> int:
    """The largest 2^m with min(W, H) / 2^m >= S(alpha) and 2^m dividing W and H (1 = full)."""
    if min_side < 1:
        raise ConfigError(f"min_side must be at least 1 pixel, got {min_side}")
    need = side_for_alpha(alpha, min_side)
    factor = 1
    while (min(width, height) // (factor * 2) >= need and width % (factor * 2) == 0
           and height % (factor * 2) == 0):
        factor *= 2
    return factor


def area_downsample(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Means over factor x factor blocks.  image: [C, H, W] -> [C, H/f, W/f] (f divides H, W)."""
    if factor == 1:
        return image
    if image.shape[-1] % factor or image.shape[-2] % factor:
        raise ConfigError(f"downsampling factor {factor} does not divide the image size "
                          f"{tuple(image.shape[-2:])}")
    return F.avg_pool2d(image[None], factor)[0]


def level_blur(factor: int, eps2d: float = EPS2D) -> float:
    """eps_f = eps / f^2 + 1/12 px^2 at a level f down; the renderer's eps at full size."""
    return eps2d if factor == 1 else eps2d / factor ** 2 + 1.0 / 12.0


def render_level(splats: Splats, camera: Camera, factor: int, background=None,
                 backend: str = "auto", eps2d: float = EPS2D) -> tuple[torch.Tensor, torch.Tensor]:
    """The splats rendered by ``camera`` (a level f = factor down) with the blur and mass of
    the full-size render averaged down (module docstring); render() itself at factor 1.

    -> rgb [H, W, 3], alpha [H, W]; differentiable as render() is.
    """
    out = render(splats, camera, background=background, backend=backend,
                 eps2d=level_blur(factor, eps2d) if factor > 1 else eps2d,
                 mass_eps2d=eps2d / factor ** 2 if factor > 1 else None)
    return out.rgb, out.alpha


def level_mass_gain(splats: Splats, camera: Camera, factor: int, backend: str = "auto"
                    ) -> float:
    """g = sum(alpha of the full-size render, area-averaged f x f) / sum(alpha at level f).

    The per-splat mass correction of render_level assumes splats that do not overlap; where
    they pile up and saturate (real assets), a level still carries more alpha mass than the
    averaged full render, which the loss reads as a nearer or turned asset (measured: 1.15x
    to 1.28x for the donut's 2,000-splat subset at f = 2, 32 px; the excess varies with the
    sub-pixel position, since splats about a level pixel wide are point-sampled). ``camera``
    is the full-size one; the gain is measured once per level at the start pose and applied
    to every step's level render with apply_mass_gain, which removes the mean excess, not
    its variation with position.
    """
    if factor == 1:
        return 1.0
    with torch.no_grad():
        full = render(splats, camera, backend=backend).alpha
        small = camera.resized(camera.width // factor, camera.height // factor)
        level = render_level(splats, small, factor, backend=backend)[1]
    mass = float(level.sum()) * factor * factor
    return float(full.sum()) / mass if mass > 0 else 1.0


def apply_mass_gain(rgb: torch.Tensor, alpha: torch.Tensor, gain: float, background=None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Scales the asset's coverage by ``gain``: alpha' = g alpha, and the colour over the
    background b, rgb = c + b (1 - alpha) with c premultiplied, becomes g c + b (1 - alpha').
    rgb: [H, W, 3], alpha: [H, W] -> same shapes."""
    if gain == 1.0:
        return rgb, alpha
    scaled = gain * alpha
    if background is None:
        return gain * rgb, scaled
    bg = torch.as_tensor(background, dtype=rgb.dtype, device=rgb.device)
    colour = rgb - bg * (1.0 - alpha)[..., None]
    return gain * colour + bg * (1.0 - scaled)[..., None], scaled



class ResolutionPyramid:
    """The target [C, H, W] and its camera at every level used, built once and cached.

        >>> pyr = ResolutionPyramid(target, camera)          # camera: 128 x 128
        >>> pyr.factor(alpha=2.0), pyr.level(2.0)[1].width
        (4, 32)
    """

    def __init__(self, target: torch.Tensor, camera: Camera, min_side: int = MIN_SIDE,
                 enabled: bool = True):
        if tuple(target.shape[-2:]) != (camera.height, camera.width):
            raise ConfigError(f"target is {tuple(target.shape[-2:])} (H, W) but the camera "
                              f"renders {camera.height} x {camera.width}: resize the target")
        self.target, self.camera = target, camera
        self.min_side, self.enabled = int(min_side), bool(enabled)
        self._levels: dict[int, tuple[torch.Tensor, Camera]] = {1: (target, camera)}

    def factor(self, alpha: float) -> int:
        """Downsampling factor for the spectral phase at alpha (1 when disabled)."""
        if not self.enabled:
            return 1
        return downsample_factor(alpha, self.camera.width, self.camera.height, self.min_side)

    def at_factor(self, factor: int) -> tuple[torch.Tensor, Camera]:
        """(target [C, H/f, W/f], camera at W/f x H/f)."""
        if factor not in self._levels:
            cam = self.camera.resized(self.camera.width // factor, self.camera.height // factor)
            self._levels[factor] = (area_downsample(self.target, factor), cam)
        return self._levels[factor]

    def level(self, alpha: float) -> tuple[torch.Tensor, Camera]:
        """(target, camera) for the spectral phase at alpha."""
        return self.at_factor(self.factor(alpha))


__all__ = ["MIN_SIDE", "side_for_alpha", "downsample_factor", "area_downsample",
           "level_blur", "render_level", "level_mass_gain", "apply_mass_gain",
           "ResolutionPyramid"]
