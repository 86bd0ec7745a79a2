"""The paper's Figure 2 in one dimension: a Gaussian pulse that starts away from its target.

The signal is a pulse g(x - mu) = exp(-(x - mu)^2 / 2 sigma^2), sigma = 0.5, sampled at
N = 256 points x_n = -16 + n L / N on a periodic domain of length L = 32. The target sits at
mu* = 0 and the optimisation starts at mu = 6 = 12 sigma: the two pulses do not overlap
(g(6) = e^-72). The pulse is handed to the image losses as an image of height 1 ([1, 1, N]),
so the spectral loss here is the engine's own (engine/loss/spectral.py): frequency k counts cycles
per domain, band j holds |k| in [2^j, 2^(j+1)).

Three objectives, one optimiser (Adam, the same learning rate, decay and step budget):

- "l2":       mean_n (g(x_n - mu) - g(x_n))^2. No overlap, no gradient: mu stays at 6.
- "static_k5": |M_5(render) - M_5(target)|^2 for the single frequency k = 5. It equals
  2 |M_5(g)|^2 (1 - cos(w_5 mu)), w_5 = 2 pi 5 / L, zero at every mu = m 2 pi / w_5 = 6.4 m:
  from 6 it falls into the false minimum at 6.4.
- "annealed": the spectral loss with band weights from engine/loss/schedule.py: the lowest band
  (k = 1, period 32) alone during the warm-up, then bands opening low to high: mu -> 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..engine.config import TrackingConfig
from ..engine.errors import ConfigError
from ..engine.loss.schedule import alpha_at, band_weights, learning_rate_factor
from ..engine.loss.spectral import spectral_loss, spectral_moments

Objective = Literal["l2", "static_k5", "annealed"]
OBJECTIVES: tuple[str, ...] = ("l2", "static_k5", "annealed")

DOMAIN_LENGTH = 32.0
SAMPLES = 256
SIGMA = 0.5
START = 6.0
TARGET = 0.0
STATIC_K = 5
STEPS = 600
LEARNING_RATE = 0.1
LR_FINAL_FRACTION = 0.01

ANNEALING = TrackingConfig(iterations=STEPS, spectral_fraction=1.0, warmup_fraction=0.2,
                           alpha_start=1.0, num_bands=7, expansion="linear_band",
                           lr_final_fraction=LR_FINAL_FRACTION)


def sample_points(samples: int = SAMPLES, length: float = DOMAIN_LENGTH) -> torch.Tensor:
    """x_n = -L/2 + n L / N, float64.  # [N]"""
    return -length / 2 + torch.arange(samples, dtype=torch.float64) * (length / samples)


def pulse(mu: torch.Tensor, x: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """g(x - mu) as a one-row image.  mu: scalar tensor, x: [N] -> [1, 1, N]"""
    return torch.exp(-((x - mu) ** 2) / (2 * sigma ** 2)).view(1, 1, -1)


def static_period(k: int = STATIC_K, length: float = DOMAIN_LENGTH) -> float:
    """2 pi / w_k = L / k: the spacing of the single-frequency loss's minima."""
    return length / k


def objective_value(name: Objective, render: torch.Tensor, target: torch.Tensor,
                    alpha: float | None = None,
                    num_bands: int = ANNEALING.num_bands) -> torch.Tensor:
    """The loss `name` between two one-row images [1, 1, N]; `alpha` is needed for "annealed"."""
    if name == "l2":
        return ((render - target) ** 2).mean()
    if name == "static_k5":
        diff = spectral_moments(render - target)[..., 0, STATIC_K]
        return (diff.real ** 2 + diff.imag ** 2).sum()
    if name == "annealed":
        if alpha is None:
            raise ConfigError("the annealed objective needs the annealing parameter alpha")
        return spectral_loss(render, target, band_weights(alpha, num_bands, dtype=render.dtype))
    raise ConfigError(f"unknown objective {name!r}; choose one of {', '.join(OBJECTIVES)}")


@dataclass
class PulseRun:
    """One optimisation: mu at every step (trajectory[0] = start) and alpha per step."""

    objective: str
    trajectory: np.ndarray  # [steps + 1]
    alphas: np.ndarray  # [steps]

    @property
    def final(self) -> float:
        return float(self.trajectory[-1])


def optimise(name: Objective, start: float = START, steps: int = STEPS,
             learning_rate: float = LEARNING_RATE,
             annealing: TrackingConfig = ANNEALING) -> PulseRun:
    """Adam on mu from `start` toward the target at 0, lr decayed exponentially to
    annealing.lr_final_fraction of `learning_rate` over `steps`."""
    x = sample_points()
    target = pulse(torch.tensor(TARGET, dtype=torch.float64), x)
    mu = torch.tensor(float(start), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([mu], lr=learning_rate)
    trajectory, alphas = [float(start)], []
    for step in range(steps):
        alpha = alpha_at(step, steps, annealing) if name == "annealed" else math.nan
        for group in optimiser.param_groups:
            group["lr"] = learning_rate * learning_rate_factor(step, steps, annealing)
        optimiser.zero_grad()
        objective_value(name, pulse(mu, x), target, alpha, annealing.num_bands).backward()
        optimiser.step()
        trajectory.append(float(mu.detach()))
        alphas.append(alpha)
    return PulseRun(name, np.asarray(trajectory), np.asarray(alphas))


def final_offsets(name: Objective, starts: np.ndarray,
                  annealing: TrackingConfig = ANNEALING) -> np.ndarray:
    """mu after the full step budget from each start in starts [S].  -> [S]"""
    return np.array([optimise(name, float(s), annealing=annealing).final for s in starts])


def landscape(name: Objective, mus: np.ndarray, alpha: float | None = None) -> np.ndarray:
    """The loss `name` at each offset in mus [M] (target at 0).  -> [M]"""
    x = sample_points()
    target = pulse(torch.tensor(TARGET, dtype=torch.float64), x)
    offsets = torch.as_tensor(np.asarray(mus, dtype=np.float64))
    with torch.no_grad():
        return np.array([float(objective_value(name, pulse(mu, x), target, alpha))
                         for mu in offsets])


__all__ = ["OBJECTIVES", "ANNEALING", "sample_points", "pulse", "static_period",
           "objective_value", "PulseRun", "optimise", "final_offsets", "landscape"]
