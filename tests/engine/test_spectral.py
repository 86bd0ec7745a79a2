"""Spectral moments, log-radial bands and the spectral moment loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.errors import LossInputError
from spectralsplats_addon.engine.loss.schedule import band_weights
from spectralsplats_addon.engine.loss.spectral import (
    SpectralLoss,
    band_losses,
    column_multiplicity,
    frequency_bands,
    spectral_loss,
    spectral_moments,
)


def full_spectrum_band_means(diff: torch.Tensor, num_bands: int) -> torch.Tensor:
    """Reference: band means of |fft2|^2 over the whole (not half) spectrum, by radius."""
    height, width = diff.shape[-2:]
    power = (torch.fft.fft2(diff, norm="forward").abs() ** 2).flatten(0, -3).mean(0)
    ky = np.fft.fftfreq(height) * height
    kx = np.fft.fftfreq(width) * width
    radius = torch.from_numpy(np.hypot(ky[:, None], kx[None, :]))
    means = []
    for j in range(num_bands):
        mask = (radius >= 2 ** j) & (radius < 2 ** (j + 1))
        means.append(power[mask].mean() if mask.any() else power.new_zeros(()))
    return torch.stack(means)


def blob(cy, cx, size: int, sigma: float, dtype=torch.float64) -> torch.Tensor:
    """A Gaussian blob at (cy, cx) in pixels, sampled at pixel centres.  -> [1, size, size]"""
    coords = torch.arange(size, dtype=dtype) + 0.5
    gy = torch.exp(-((coords - cy) ** 2) / (2 * sigma ** 2))
    gx = torch.exp(-((coords - cx) ** 2) / (2 * sigma ** 2))
    return (gy[:, None] * gx[None, :])[None]


class TestMoments:
    def test_moments_are_the_mean_of_the_image_times_the_complex_exponential(self):
        image = torch.rand(2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        y, x = torch.meshgrid(torch.arange(5.0), torch.arange(6.0), indexing="ij")
        moments = spectral_moments(image)
        assert moments.shape == (2, 5, 4)
        for ky, kx in [(0, 0), (1, 2), (-2, 3), (4, 1)]:
            phase = torch.exp(-2j * math.pi * (ky * y / 5 + kx * x / 6))
            expected = (image * phase).mean(dim=(-2, -1))
            torch.testing.assert_close(moments[:, ky % 5, kx], expected)

    def test_a_shift_multiplies_each_moment_by_the_phase_of_the_shift(self):
        gen = torch.Generator().manual_seed(1)
        image = torch.rand(3, 16, 12, dtype=torch.float64, generator=gen)
        sy, sx = 3, -5
        shifted = torch.roll(image, shifts=(sy, sx), dims=(-2, -1))
        ky = torch.fft.fftfreq(16, d=1 / 16)[:, None]
        kx = torch.fft.rfftfreq(12, d=1 / 12)[None, :]
        phase = torch.exp(-2j * math.pi * (ky * sy / 16 + kx * sx / 12))
        torch.testing.assert_close(spectral_moments(shifted), spectral_moments(image) * phase)

    def test_a_single_cosine_puts_all_its_energy_in_its_band(self):
        size, num_bands = 32, 5
        y, x = torch.meshgrid(torch.arange(size, dtype=torch.float64),
                              torch.arange(size, dtype=torch.float64), indexing="ij")
        image = torch.cos(2 * math.pi * (3 * y + 4 * x) / size)[None]  # radius 5: band 2
        losses = band_losses(image, torch.zeros_like(image), num_bands)
        # Two frequencies +-(3, 4) with |M| = 1/2 each, spread over band 2's frequencies.
        k = np.fft.fftfreq(size) * size
        ky, kx = np.meshgrid(k, k, indexing="ij")
        in_band_2 = int(((ky ** 2 + kx ** 2 >= 16) & (ky ** 2 + kx ** 2 < 64)).sum())
        expected = torch.zeros(num_bands, dtype=torch.float64)
        expected[2] = 0.5 / in_band_2
        torch.testing.assert_close(losses, expected)


class TestBands:
    def test_band_edges_fall_on_powers_of_two(self):
        bands = frequency_bands(64, 64, 4)
        at = lambda ky, kx: int(bands[ky % 64, kx])
        assert at(0, 0) == -1  # DC
        assert (at(0, 1), at(1, 1), at(0, 2), at(1, 3), at(0, 4), at(5, 5), at(0, 8)) == (
            0, 0, 1, 1, 2, 2, 3)
        assert at(0, 16) == -1 and at(11, 12) == -1  # radius >= 2^4: unsupervised

    def test_bands_are_disjoint_and_cover_every_frequency_but_dc(self):
        for height, width in [(16, 16), (15, 22), (9, 31)]:
            bands = frequency_bands(height, width, 6)  # 2^6 exceeds every radius here
            mult = column_multiplicity(width).expand(height, -1)
            per_band = [int(mult[bands == j].sum()) for j in range(6)]
            assert int((bands == -1).sum()) == 1 and int(bands[0, 0]) == -1
            assert sum(per_band) == height * width - 1  # each full-spectrum frequency once

    def test_band_means_equal_the_full_fft2_spectrum(self):
        gen = torch.Generator().manual_seed(2)
        for shape in [(3, 16, 16), (2, 15, 17), (1, 12, 9), (2, 3, 10, 7)]:
            a = torch.rand(shape, dtype=torch.float64, generator=gen)
            b = torch.rand(shape, dtype=torch.float64, generator=gen)
            torch.testing.assert_close(band_losses(a, b, 5), full_spectrum_band_means(a - b, 5))


class TestLoss:
    def test_loss_is_the_weighted_sum_of_band_means(self):
        gen = torch.Generator().manual_seed(3)
        a, b = torch.rand(2, 3, 20, 24, dtype=torch.float64, generator=gen).unbind(0)
        weights = torch.tensor([1.0, 0.5, 0.25, 0.0, 2.0], dtype=torch.float64)
        expected = (weights * full_spectrum_band_means(a - b, 5)).sum()
        torch.testing.assert_close(spectral_loss(a, b, weights), expected)

    def test_the_scale_does_not_depend_on_resolution(self):
        """The same continuous scene (blobs placed in image units) at 64 and at 128 pixels."""
        def scene(size):
            return (blob(0.30 * size, 0.35 * size, size, 0.03 * size)
                    + 0.5 * blob(0.7 * size, 0.6 * size, size, 0.02 * size))

        def moved(size):
            return blob(0.65 * size, 0.7 * size, size, 0.03 * size)

        low, high = band_losses(scene(64), moved(64), 4), band_losses(scene(128), moved(128), 4)
        assert low.min() > 1e-6  # every band compared carries signal
        torch.testing.assert_close(high, low, rtol=0.01, atol=0)
        weights = band_weights(4.0, 4, dtype=torch.float64)
        ratio = (spectral_loss(scene(128), moved(128), weights)
                 / spectral_loss(scene(64), moved(64), weights))
        assert ratio == pytest.approx(1.0, rel=0.01)

    def test_dc_weight_adds_the_squared_mean_difference(self):
        image = torch.rand(3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
        brighter = image + 0.1  # differs only in the DC moment
        weights = torch.ones(3, dtype=torch.float64)
        assert float(spectral_loss(brighter, image, weights)) == pytest.approx(0.0, abs=1e-20)
        assert float(spectral_loss(brighter, image, weights, dc_weight=2.0)) == pytest.approx(0.02)

    def test_batch_and_channels_are_averaged(self):
        gen = torch.Generator().manual_seed(5)
        a, b = torch.rand(2, 2, 4, 16, 16, dtype=torch.float64, generator=gen).unbind(0)
        weights = torch.rand(5, dtype=torch.float64, generator=gen)
        per_item = [spectral_loss(a[i, c:c + 1], b[i, c:c + 1], weights)
                    for i in range(2) for c in range(4)]
        torch.testing.assert_close(spectral_loss(a, b, weights), torch.stack(per_item).mean())

    def test_module_equals_function(self):
        gen = torch.Generator().manual_seed(6)
        a, b = torch.rand(2, 4, 16, 20, generator=gen).unbind(0)
        weights = band_weights(2.5, 5)
        module = SpectralLoss(dc_weight=0.3)
        torch.testing.assert_close(module(a, b, weights), spectral_loss(a, b, weights, 0.3))
        assert "dc_weight=0.3" in repr(module)

    def test_gradcheck_in_float64(self):
        gen = torch.Generator().manual_seed(7)
        render = torch.rand(2, 6, 7, dtype=torch.float64, generator=gen, requires_grad=True)
        target = torch.rand(2, 6, 7, dtype=torch.float64, generator=gen)
        weights = torch.tensor([0.3, 1.0, 0.7], dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda r, w: spectral_loss(r, target, w, dc_weight=0.5), (render, weights))


class TestGradientWithoutOverlap:
    """A blob displaced from its target with no overlap: L2 has no gradient, moments do."""

    @pytest.mark.parametrize("render_x, target_x, direction", [(50.0, 20.0, 1.0),
                                                             (14.0, 44.0, -1.0)])
    def test_the_gradient_points_toward_the_target(self, render_x, target_x, direction):
        size, sigma = 64, 2.0  # 30 pixels = 15 sigma apart, 7 sigma or more from the borders
        target = blob(32.0, target_x, size, sigma)
        cx = torch.tensor(render_x, dtype=torch.float64, requires_grad=True)
        render = blob(32.0, cx, size, sigma)
        (pixel_grad,) = torch.autograd.grad(((render - target) ** 2).mean(), cx, retain_graph=True)
        weights = band_weights(1.0, 6, dtype=torch.float64)  # the warm-up: lowest band alone
        (spectral_grad,) = torch.autograd.grad(spectral_loss(render, target, weights), cx)
        assert abs(float(pixel_grad)) < 1e-12
        # Descent moves the blob toward the target, and the signal is far from vanishing.
        assert direction * float(spectral_grad) > 1e-3 * abs(float(spectral_grad)) + 1e-9
        assert abs(float(spectral_grad)) > 1e6 * abs(float(pixel_grad))


class TestBadInput:
    def test_shape_mismatch_says_what_to_do(self):
        with pytest.raises(LossInputError, match=r"render \(3, 8, 8\) and target \(3, 8, 9\).*"
                                                 r"resize or crop the target"):
            spectral_loss(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9), torch.ones(3))

    def test_images_at_the_api_edge_layout_are_rejected(self):
        with pytest.raises(LossInputError, match=r"got shape \(8, 8\).*permute them"):
            spectral_loss(torch.zeros(8, 8), torch.zeros(8, 8), torch.ones(3))

    def test_band_weights_must_be_a_vector(self):
        with pytest.raises(LossInputError, match=r"band_weights must be a vector \[num_bands\], "
                                                 r"got shape \(2, 2\)"):
            spectral_loss(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), torch.ones(2, 2))
