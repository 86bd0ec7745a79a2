"""Spatial (pixel) losses of the refinement phase: L1, L2, SSIM and D-SSIM, as in 3DGS.

    l1 = mean |x - y|,   l2 = mean (x - y)^2,

    SSIM(x, y) = mean_p (2 mu_x mu_y + C1)(2 s_xy + C2)
                        / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),

with mu, s^2, s_xy the local means, variances and covariance under an 11 x 11 Gaussian window
(sigma 1.5), per channel, zero padding at the borders (as the 3DGS reference code does),
C1 = 0.01^2, C2 = 0.03^2 for images in [0, 1]. D-SSIM = 1 - SSIM, and

    spatial_loss = (1 - lambda) * pixel + lambda * (1 - SSIM),   lambda = dssim_weight (0.2).

Images are [C, H, W] or [B, C, H, W]; every loss returns a scalar (mean over everything).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import LossInputError

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01 ** 2
SSIM_C2 = 0.03 ** 2


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise LossInputError(f"render {tuple(x.shape)} and target {tuple(y.shape)} must have "
                             "the same shape [C, H, W] or [B, C, H, W]")
    if x.dim() not in (3, 4):
        raise LossInputError(f"expected images [C, H, W] or [B, C, H, W], got shape "
                             f"{tuple(x.shape)}")


def l1_loss(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean |render - target|.  render, target: [C, H, W] or [B, C, H, W] -> scalar"""
    _check_pair(render, target)
    return (render - target).abs().mean()


def l2_loss(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean (render - target)^2.  render, target: [C, H, W] or [B, C, H, W] -> scalar"""
    _check_pair(render, target)
    return ((render - target) ** 2).mean()


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA,
                    dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """Normalised 1D Gaussian g_i = exp(-(i - size//2)^2 / 2 sigma^2) / sum.  # [size]"""
    i = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(i ** 2) / (2 * sigma ** 2))
    return (g / g.sum()).to(dtype=dtype, device=device)


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel, zero padding.  x: [B, C, H, W] -> same shape."""
    channels, size = x.shape[1], window.numel()
    wy = window.view(1, 1, size, 1).expand(channels, 1, size, 1)
    wx = window.view(1, 1, 1, size).expand(channels, 1, 1, size)
    x = F.conv2d(x, wy, padding=(size // 2, 0), groups=channels)
    return F.conv2d(x, wx, padding=(0, size // 2), groups=channels)


def ssim_map(x: torch.Tensor, y: torch.Tensor, window_size: int = SSIM_WINDOW,
             sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Per-pixel SSIM.  x, y: [C, H, W] or [B, C, H, W] in [0, 1] -> same shape."""
    _check_pair(x, y)
    if window_size < 1 or window_size % 2 == 0:
        raise LossInputError(f"the SSIM window size must be odd and positive, got {window_size}")
    squeeze = x.dim() == 3
    if squeeze:
        x, y = x[None], y[None]
    window = gaussian_window(window_size, sigma, x.dtype, x.device)
    mu_x, mu_y = _blur(x, window), _blur(y, window)
    var_x = _blur(x * x, window) - mu_x ** 2
    var_y = _blur(y * y, window) - mu_y ** 2
    cov = _blur(x * y, window) - mu_x * mu_y
    num = (2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_x ** 2 + mu_y ** 2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    out = num / den
    return out[0] if squeeze else out


def ssim(x: torch.Tensor, y: torch.Tensor, window_size: int = SSIM_WINDOW,
         sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Mean SSIM (1 for identical images).  x, y: [C, H, W] or [B, C, H, W] -> scalar"""
    return ssim_map(x, y, window_size, sigma).mean()


def dssim_loss(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """D-SSIM = 1 - SSIM, as 3DGS uses it.  [C, H, W] or [B, C, H, W] -> scalar"""
    return 1.0 - ssim(render, target)


def spatial_loss(render: torch.Tensor, target: torch.Tensor,
                 kind: Literal["l1", "l2"] = "l1", dssim_weight: float = 0.2) -> torch.Tensor:
    """(1 - dssim_weight) * pixel + dssim_weight * (1 - SSIM), pixel = L1 or L2.

    render, target: [C, H, W] or [B, C, H, W] -> scalar
    """
    pixel = {"l1": l1_loss, "l2": l2_loss}.get(kind)
    if pixel is None:
        raise LossInputError(f"unknown spatial loss {kind!r}; choose 'l1' or 'l2'")
    loss = pixel(render, target)
    if dssim_weight:
        loss = (1.0 - dssim_weight) * loss + dssim_weight * dssim_loss(render, target)
    return loss


class SpatialLoss(nn.Module):
    """Module form of spatial_loss with the kind and the D-SSIM weight fixed."""

    def __init__(self, kind: Literal["l1", "l2"] = "l1", dssim_weight: float = 0.2):
        super().__init__()
        if kind not in ("l1", "l2"):
            raise LossInputError(f"unknown spatial loss {kind!r}; choose 'l1' or 'l2'")
        self.kind, self.dssim_weight = kind, float(dssim_weight)

    def forward(self, render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """render, target: [C, H, W] or [B, C, H, W] -> scalar"""
        return spatial_loss(render, target, self.kind, self.dssim_weight)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, dssim_weight={self.dssim_weight}"


__all__ = ["l1_loss", "l2_loss", "gaussian_window", "ssim_map", "ssim", "dssim_loss",
           "spatial_loss", "SpatialLoss"]
