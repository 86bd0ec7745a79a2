"""Image quality: PSNR, and SSIM from engine/loss/spatial.py (the same window and constants).

    MSE  = mean (x - y)^2,      PSNR = 10 log10(peak^2 / MSE)  dB  (inf for identical images)

Images are [C, H, W] or [B, C, H, W] in [0, peak]; each metric returns a float.
"""

from __future__ import annotations

import math

import torch

from ..errors import LossInputError
from .spatial import ssim as _ssim


def psnr(x: torch.Tensor, y: torch.Tensor, peak: float = 1.0) -> float:
    """10 log10(peak^2 / mean (x - y)^2) in dB.  x, y: same shape -> float (inf if equal)"""
    if x.shape != y.shape:
        raise LossInputError(f"PSNR compares images of one shape, got {tuple(x.shape)} and "
                             f"{tuple(y.shape)}")
    mse = float(((x.detach().double() - y.detach().double()) ** 2).mean())
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean SSIM (11 x 11 Gaussian window, sigma 1.5; losses.ssim).  [C, H, W] pair -> float"""
    return float(_ssim(x.detach(), y.detach()))


__all__ = ["psnr", "ssim"]
