"""Spatial losses of the refinement phase: L1, L2, SSIM, D-SSIM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.errors import LossInputError
from spectralsplats_addon.engine.loss.spatial import (
    SSIM_C1,
    SSIM_C2,
    SpatialLoss,
    gaussian_window,
    l1_loss,
    l2_loss,
    spatial_loss,
    ssim,
    ssim_map,
)


def reference_ssim_map(x: np.ndarray, y: np.ndarray, size: int = 11, sigma: float = 1.5):
    """Per-pixel SSIM of one channel [H, W] by explicit window sums with zero padding."""
    offsets = np.arange(size) - size // 2
    g = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    pad = size // 2
    xp, yp = np.pad(x, pad), np.pad(y, pad)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            wx, wy = xp[i:i + size, j:j + size], yp[i:i + size, j:j + size]
            mx, my = (window * wx).sum(), (window * wy).sum()
            vx = (window * wx * wx).sum() - mx ** 2
            vy = (window * wy * wy).sum() - my ** 2
            cxy = (window * wx * wy).sum() - mx * my
            out[i, j] = ((2 * mx * my + SSIM_C1) * (2 * cxy + SSIM_C2)
                         / ((mx ** 2 + my ** 2 + SSIM_C1) * (vx + vy + SSIM_C2)))
    return out


def test_pixel_losses_known_values():
    a = torch.tensor([[[0.0, 0.5], [1.0, 0.25]]])
    b = torch.tensor([[[0.5, 0.5], [0.0, 0.75]]])
    assert float(l1_loss(a, b)) == pytest.approx((0.5 + 0 + 1 + 0.5) / 4)
    assert float(l2_loss(a, b)) == pytest.approx((0.25 + 0 + 1 + 0.25) / 4)


def test_gaussian_window_is_normalised_with_sigma_one_and_a_half():
    window = gaussian_window(dtype=torch.float64)
    expected = np.exp(-np.arange(-5, 6) ** 2 / 4.5)
    np.testing.assert_allclose(window.numpy(), expected / expected.sum(), rtol=1e-12)


class TestSSIM:
    def test_against_explicit_window_sums(self):
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(2, 13, 12, dtype=torch.float64, generator=gen)
        y = (x + 0.2 * torch.rand(2, 13, 12, dtype=torch.float64, generator=gen)).clamp(0, 1)
        got = ssim_map(x, y)
        for c in range(2):
            expected = reference_ssim_map(x[c].numpy(), y[c].numpy())
            np.testing.assert_allclose(got[c].numpy(), expected, rtol=1e-10, atol=1e-12)

    def test_identical_images_score_one_and_constant_images_the_luminance_term(self):
        x = torch.rand(3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-12)
        a, b = 0.8, 0.3
        centre = ssim_map(torch.full((1, 32, 32), a, dtype=torch.float64),
                          torch.full((1, 32, 32), b, dtype=torch.float64))[0, 16, 16]
        assert float(centre) == pytest.approx((2 * a * b + SSIM_C1) / (a * a + b * b + SSIM_C1))

    def test_batched_equals_per_image(self):
        gen = torch.Generator().manual_seed(2)
        x, y = torch.rand(2, 3, 3, 20, 20, generator=gen).unbind(0)
        per_image = torch.stack([ssim(x[i], y[i]) for i in range(3)]).mean()
        torch.testing.assert_close(ssim(x, y), per_image)
        assert ssim_map(x, y).shape == (3, 3, 20, 20)

    def test_gradcheck_in_float64(self):
        gen = torch.Generator().manual_seed(3)
        x = torch.rand(1, 2, 7, 8, dtype=torch.float64, generator=gen, requires_grad=True)
        y = torch.rand(1, 2, 7, 8, dtype=torch.float64, generator=gen)
        assert torch.autograd.gradcheck(lambda a: ssim(a, y), (x,))

    def test_even_window(self):
        with pytest.raises(LossInputError, match="must be odd and positive, got 10"):
            ssim(torch.zeros(1, 8, 8), torch.zeros(1, 8, 8), window_size=10)


class TestSpatialLoss:
    def test_mixes_the_pixel_loss_and_dssim_as_3dgs(self):
        gen = torch.Generator().manual_seed(4)
        x, y = torch.rand(2, 3, 24, 24, dtype=torch.float64, generator=gen).unbind(0)
        expected_l1 = 0.8 * l1_loss(x, y) + 0.2 * (1 - ssim(x, y))
        torch.testing.assert_close(spatial_loss(x, y), expected_l1)
        expected_l2 = 0.5 * l2_loss(x, y) + 0.5 * (1 - ssim(x, y))
        torch.testing.assert_close(spatial_loss(x, y, "l2", 0.5), expected_l2)
        torch.testing.assert_close(spatial_loss(x, y, "l2", 0.0), l2_loss(x, y))

    def test_module_equals_function(self):
        gen = torch.Generator().manual_seed(5)
        x, y = torch.rand(2, 2, 4, 16, 16, generator=gen).unbind(0)
        torch.testing.assert_close(SpatialLoss("l2", 0.3)(x, y), spatial_loss(x, y, "l2", 0.3))

    def test_unknown_kind(self):
        with pytest.raises(LossInputError,
                           match=r"unknown spatial loss 'ssim'; choose 'l1' or 'l2'"):
            SpatialLoss("ssim")
        with pytest.raises(LossInputError, match=r"unknown spatial loss 'l3'"):
            spatial_loss(torch.zeros(1, 4, 4), torch.zeros(1, 4, 4), "l3")

    def test_shape_mismatch(self):
        with pytest.raises(LossInputError, match=r"render \(3, 8, 8\) and target \(1, 8, 8\)"):
            l1_loss(torch.zeros(3, 8, 8), torch.zeros(1, 8, 8))
        with pytest.raises(LossInputError, match=r"got shape \(8, 8\)"):
            ssim(torch.zeros(8, 8), torch.zeros(8, 8))

    def test_pixel_loss_has_no_gradient_between_blobs_that_do_not_overlap(self):
        """Why the spectral phase comes first: far apart, L1 + D-SSIM give no direction."""
        coords = torch.arange(48, dtype=torch.float64) + 0.5
        cx = torch.tensor(36.0, dtype=torch.float64, requires_grad=True)
        def blob(x0):
            return torch.exp(-((coords[None, :] - x0) ** 2 + (coords[:, None] - 24) ** 2) / 4)[None]
        loss = spatial_loss(blob(cx), blob(torch.tensor(12.0, dtype=torch.float64)))
        (grad,) = torch.autograd.grad(loss, cx)
        assert math.isfinite(float(grad)) and abs(float(grad)) < 1e-12
