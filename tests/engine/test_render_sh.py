"""Spherical harmonics: hand-evaluated values at the axes, an independent float64 formula,
orthonormality on the sphere, and the colour rule (+0.5, clamp at 0)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from spectralsplats_addon.engine.render.sh import eval_sh_colors, sh_basis
from spectralsplats_addon.engine.splats import SH_C0

F64 = torch.float64
PI = math.pi


def textbook_real_sh(d):
    """The real SH table (x, y, z on the unit sphere, no Condon-Shortley phase), times the
    (-1)^m phase that 3DGS uses, in the order m = -l..l."""
    x, y, z = d[:, 0], d[:, 1], d[:, 2]
    table = [
        (0, 0.5 * math.sqrt(1 / PI) * torch.ones_like(x)),
        (-1, math.sqrt(3 / (4 * PI)) * y), (0, math.sqrt(3 / (4 * PI)) * z),
        (1, math.sqrt(3 / (4 * PI)) * x),
        (-2, 0.5 * math.sqrt(15 / PI) * x * y), (-1, 0.5 * math.sqrt(15 / PI) * y * z),
        (0, 0.25 * math.sqrt(5 / PI) * (3 * z**2 - 1)), (1, 0.5 * math.sqrt(15 / PI) * x * z),
        (2, 0.25 * math.sqrt(15 / PI) * (x**2 - y**2)),
        (-3, 0.25 * math.sqrt(35 / (2 * PI)) * y * (3 * x**2 - y**2)),
        (-2, 0.5 * math.sqrt(105 / PI) * x * y * z),
        (-1, 0.25 * math.sqrt(21 / (2 * PI)) * y * (5 * z**2 - 1)),
        (0, 0.25 * math.sqrt(7 / PI) * (5 * z**3 - 3 * z)),
        (1, 0.25 * math.sqrt(21 / (2 * PI)) * x * (5 * z**2 - 1)),
        (2, 0.25 * math.sqrt(105 / PI) * (x**2 - y**2) * z),
        (3, 0.25 * math.sqrt(35 / (2 * PI)) * x * (x**2 - 3 * y**2)),
    ]
    return torch.stack([(-1) ** abs(m) * value for m, value in table], dim=-1)


def random_dirs(n, seed=0):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_basis_matches_the_textbook_table(degree):
    dirs = random_dirs(500) * 3.0  # any length: normalised inside
    unit = dirs / dirs.norm(dim=-1, keepdim=True)
    want = textbook_real_sh(unit)[:, : (degree + 1) ** 2]
    assert_close(sh_basis(dirs, degree), want, atol=1e-14, rtol=1e-12)


def test_hand_evaluated_values_at_the_axes():
    c1 = math.sqrt(3 / (4 * PI))
    basis = sh_basis(torch.eye(3, dtype=F64), 3)  # +x, +y, +z
    assert basis[:, 0].tolist() == pytest.approx([SH_C0] * 3, abs=1e-15)
    assert basis[0, 1:4].tolist() == pytest.approx([0, 0, -c1], abs=1e-15)
    assert basis[1, 1:4].tolist() == pytest.approx([-c1, 0, 0], abs=1e-15)
    assert basis[2, 1:4].tolist() == pytest.approx([0, c1, 0], abs=1e-15)
    # +z: only m = 0 survives, Y20 = sqrt(5/pi)/4 * 2, Y30 = sqrt(7/pi)/4 * 2
    assert basis[2, 4:9].tolist() == pytest.approx([0, 0, math.sqrt(5 / PI) / 2, 0, 0], abs=1e-15)
    assert basis[2, 9:16].tolist() == pytest.approx([0, 0, 0, math.sqrt(7 / PI) / 2, 0, 0, 0],
                                                    abs=1e-15)
    # +x: Y22 = sqrt(15/pi)/4, Y33 = -sqrt(35/(2 pi))/4, Y31 = -sqrt(21/(2 pi))/4 * (-1)
    assert basis[0, 8].item() == pytest.approx(math.sqrt(15 / PI) / 4, abs=1e-15)
    assert basis[0, 15].item() == pytest.approx(-math.sqrt(35 / (2 * PI)) / 4, abs=1e-15)
    assert basis[0, 13].item() == pytest.approx(math.sqrt(21 / (2 * PI)) / 4, abs=1e-15)


def test_basis_is_orthonormal_on_the_sphere():
    """Gauss-Legendre in cos(theta) x uniform phi integrates these degree <= 6 products exactly."""
    nodes, weights = np.polynomial.legendre.leggauss(8)
    phi = np.arange(16) * 2 * PI / 16
    ct, ph = np.meshgrid(nodes, phi, indexing="ij")
    st = np.sqrt(1 - ct**2)
    dirs = torch.tensor(np.stack([st * np.cos(ph), st * np.sin(ph), ct], -1).reshape(-1, 3))
    w = torch.tensor(np.repeat(weights, 16) * (2 * PI / 16))
    basis = sh_basis(dirs, 3)
    gram = basis.T @ (basis * w[:, None])
    assert_close(gram, torch.eye(16, dtype=F64), atol=1e-12, rtol=0)


def test_colour_adds_one_half_and_clamps_at_zero():
    sh = torch.zeros(3, 16, 3, dtype=F64)
    sh[0, 0] = torch.tensor([1.0, -1.0, -10.0])  # DC only
    sh[1, 2, 0] = 0.7  # the +z linear term, red channel
    sh[2, 9:, :] = 5.0  # degree-3 terms, ignored below degree 3
    dirs = torch.tensor([[1.0, 0, 0], [0, 0, 2.0], [0, 1.0, 0]], dtype=F64)
    colors = eval_sh_colors(sh, dirs, degree=2)
    assert colors[0].tolist() == pytest.approx([0.5 + SH_C0, 0.5 - SH_C0, 0.0], abs=1e-15)
    assert colors[1].tolist() == pytest.approx([0.5 + 0.7 * math.sqrt(3 / (4 * PI)), 0.5, 0.5],
                                               abs=1e-15)
    assert colors[2].tolist() == pytest.approx([0.5, 0.5, 0.5], abs=1e-15)
    assert eval_sh_colors(sh, dirs, degree=3)[2, 0] > 0.5


def test_a_zero_direction_gives_the_dc_colour_not_nan():
    sh = torch.ones(1, 4, 3, dtype=F64)
    colors = eval_sh_colors(sh, torch.zeros(1, 3, dtype=F64), degree=1)
    assert colors[0].tolist() == pytest.approx([0.5 + SH_C0] * 3, abs=1e-15)


def test_too_few_coefficients_or_an_unknown_degree_is_an_error():
    with pytest.raises(ValueError, match="SH degree 2 needs 9 coefficients, the splats have 4"):
        eval_sh_colors(torch.zeros(1, 4, 3), torch.ones(1, 3), degree=2)
    with pytest.raises(ValueError, match="SH degree 4 is not supported: use 0 to 3"):
        sh_basis(torch.ones(1, 3), 4)


def test_gradcheck_in_coefficients_and_directions():
    sh = (torch.randn(6, 16, 3, generator=torch.Generator().manual_seed(2), dtype=F64) * 0.1
          ).requires_grad_(True)
    dirs = random_dirs(6, seed=3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s, d: eval_sh_colors(s, d, 3), (sh, dirs))
