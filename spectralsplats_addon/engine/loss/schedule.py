"""Frequency annealing: which spectral bands are supervised, and how much, at each step.

Band weights. Band j (0-based; j = 0 .. B-1) holds the radii [2^j, 2^(j+1)) cycles per image
(engine/loss/spectral.py; in the "band b holds [2^(b-1), 2^b)" numbering, j = b - 1). Its weight at
annealing parameter alpha is

    w_j(alpha) = (1 - cos(pi * clamp(alpha - j, 0, 1))) / 2,

so band j is off for alpha <= j, fades in along a half cosine for j < alpha < j + 1, and has
full weight from alpha = j + 1 on. Every radius below the cut-off f_c = 2^alpha is fully
weighted, the octave [f_c, 2 f_c) is fading in. alpha = 1 is the lowest band alone; alpha = B
is every band at full weight.

alpha over a frame's steps (engine/config.py holds the fractions):

- warm-up, steps [0, S_w): alpha = alpha_start (the low bands alone: a global basin);
- expansion, steps [S_w, S_s): u = (step - S_w) / (S_s - 1 - S_w) runs from 0 to 1 and
    "linear_band":      alpha = a0 + u (B - a0)                 (f_c = 2^alpha grows exponentially)
    "linear_frequency": alpha = log2(2^a0 + u (2^B - 2^a0))     (f_c grows linearly)
  both reach alpha = B on the last spectral step;
- spatial phase, steps [S_s, iterations): alpha = B, the pixel loss takes over.

Example::

    >>> band_weights(1.5, 4)
    tensor([1.0000, 0.5000, 0.0000, 0.0000])
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch

from ..config import TrackingConfig
from ..errors import ConfigError

PhaseName = Literal["spectral", "spatial"]


def band_weights(alpha: float, num_bands: int, *, dtype: torch.dtype = torch.float32,
                 device=None) -> torch.Tensor:
    """w_j = (1 - cos(pi * clamp(alpha - j, 0, 1))) / 2 for j = 0 .. num_bands-1.  # [num_bands]"""
    if num_bands < 1:
        raise ConfigError(f"num_bands must be at least 1, got {num_bands}")
    j = torch.arange(num_bands, dtype=torch.float64)
    ramp = torch.clamp(float(alpha) - j, 0.0, 1.0)
    return ((1.0 - torch.cos(math.pi * ramp)) / 2.0).to(dtype=dtype, device=device)


def expansion_progress(step: int, total: int, config: TrackingConfig) -> float:
    """u in [0, 1]: 0 through the warm-up, rising linearly to 1 on the last spectral step."""
    warmup = round(config.warmup_fraction * total)
    spectral = round(config.spectral_fraction * total)
    if step < warmup:
        return 0.0
    span = spectral - 1 - warmup
    if span <= 0:
        return 1.0
    return min(1.0, (step - warmup) / span)


def alpha_at(step: int, total: int, config: TrackingConfig) -> float:
    """The annealing parameter at `step` of `total`: held at alpha_start for the warm-up, then
    rising to num_bands by the end of the spectral phase (see the module docstring)."""
    if total < 1 or step < 0:
        raise ConfigError(f"need 0 <= step and total >= 1, got step={step}, total={total}")
    a0, top = config.alpha_start, float(config.num_bands)
    u = expansion_progress(step, total, config)
    if config.expansion == "linear_band":
        return a0 + u * (top - a0)
    if config.expansion == "linear_frequency":
        return math.log2(2.0 ** a0 + u * (2.0 ** top - 2.0 ** a0))
    raise ConfigError(f"unknown expansion {config.expansion!r}; choose linear_band or "
                      "linear_frequency")


def learning_rate_factor(step: int, total: int, config: TrackingConfig) -> float:
    """lr(step) / lr(0) = lr_final_fraction ** (step / (total - 1)): exponential decay."""
    return config.lr_final_fraction ** (step / max(1, total - 1))


class Phase(NamedTuple):
    """What the tracker optimises at one step.

    loss = sum_j band_weights[j] * L_j(spectral) + spatial_weight * L(spatial)
    """

    name: PhaseName
    alpha: float
    band_weights: torch.Tensor  # [num_bands]
    spatial_weight: float


def schedule_at(step: int, config: TrackingConfig) -> Phase:
    """The phase, band weights and spatial weight at `step` of config.iterations."""
    total = config.iterations
    if not 0 <= step < total:
        raise ConfigError(f"step {step} is outside the frame's {total} iterations")
    if step < config.spectral_steps:
        alpha = alpha_at(step, total, config)
        return Phase("spectral", alpha, band_weights(alpha, config.num_bands), 0.0)
    carry = config.spectral_weight_in_spatial_phase
    return Phase("spatial", float(config.num_bands),
                 torch.full((config.num_bands,), float(carry)), 1.0)


__all__ = ["band_weights", "expansion_progress", "alpha_at", "learning_rate_factor", "Phase",
           "schedule_at"]
