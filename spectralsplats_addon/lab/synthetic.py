"""Seeded synthetic splat scenes and a camera looking at them, for tests and benchmarks.

A scene of n splats fills a ball of diameter ``extent`` around the origin. Splat sizes
follow the mean spacing of the centres, s = 0.5 extent n^(-1/3), times a log-normal factor,
so that the ball looks about as covered for any n; opacities are spread between about 0.1
and 0.95; orientations are uniform; SH coefficients are small random values.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..engine.conventions import Camera, look_at_matrix_world, viewmat_from_matrix_world
from ..engine.splats import Splats


def make_synthetic_splats(
    n: int,
    seed: int,
    sh_degree: int = 0,
    extent: float = 1.0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> Splats:
    """n splats (torch fields) drawn from numpy's default_rng(seed): the same seed gives the
    same scene on every machine.

        >>> make_synthetic_splats(1000, seed=0, sh_degree=3).sh.shape
        torch.Size([1000, 16, 3])
    """
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True).clip(1e-12)
    radius = 0.5 * extent * rng.random(n) ** (1.0 / 3.0)  # uniform in the ball
    means = direction * radius[:, None]
    quats = rng.normal(size=(n, 4))  # uniform rotations once normalised
    spacing = 0.5 * extent * max(n, 1) ** (-1.0 / 3.0)
    log_scales = math.log(spacing) + rng.normal(scale=0.4, size=(n, 3))
    opacity_logits = rng.uniform(-2.2, 3.0, size=n)
    sh = rng.normal(scale=0.3, size=(n, (sh_degree + 1) ** 2, 3))
    sh[:, 1:, :] *= 0.3  # view dependence stays a modest change of colour
    return Splats(means, quats, log_scales, opacity_logits, sh).to_torch(device=device, dtype=dtype)


def synthetic_camera(
    width: int = 256,
    height: int = 256,
    extent: float = 1.0,
    azimuth_deg: float = 30.0,
    elevation_deg: float = 20.0,
    fov_deg: float = 40.0,
    fill: float = 0.7,
) -> Camera:
    """A pinhole camera on a sphere around the origin (Blender Z up), looking at it from the
    distance where the scene's ball spans ``fill`` of the image's shorter side."""
    half = math.radians(fov_deg) / 2  # of the shorter side
    distance = 0.5 * extent / (fill * math.tan(half))
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    eye = distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az),
                               math.sin(el)])
    viewmat = viewmat_from_matrix_world(look_at_matrix_world(eye, (0.0, 0.0, 0.0)))
    focal = 0.5 * min(width, height) / math.tan(half)
    K = np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])
    return Camera(viewmat, K, width, height, near=0.01, far=100.0 * distance)
