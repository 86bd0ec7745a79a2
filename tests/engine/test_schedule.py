"""Frequency annealing schedule, phases, and the tracking config with its presets."""

from __future__ import annotations

import json
import math

import pytest
import torch

from spectralsplats_addon.engine.config import PRESETS, TrackingConfig, preset
from spectralsplats_addon.engine.errors import ConfigError
from spectralsplats_addon.engine.loss.schedule import (
    alpha_at,
    band_weights,
    learning_rate_factor,
    schedule_at,
)


class TestBandWeights:
    def test_known_values(self):
        torch.testing.assert_close(band_weights(0.0, 3), torch.zeros(3))
        torch.testing.assert_close(band_weights(1.0, 3), torch.tensor([1.0, 0.0, 0.0]))
        quarter = (1 - math.cos(math.pi / 4)) / 2  # 0.1464...
        torch.testing.assert_close(band_weights(2.25, 4, dtype=torch.float64),
                                   torch.tensor([1.0, 1.0, quarter, 0.0], dtype=torch.float64))
        torch.testing.assert_close(band_weights(4.0, 4), torch.ones(4))
        torch.testing.assert_close(band_weights(9.0, 4), torch.ones(4))

    def test_weights_never_decrease_as_alpha_grows_and_lower_bands_lead(self):
        weights = torch.stack([band_weights(a, 6, dtype=torch.float64)
                               for a in torch.linspace(0, 6, 61).tolist()])
        assert (weights.diff(dim=0) >= 0).all()
        assert (weights.diff(dim=1) <= 0).all()

    def test_bad_band_count(self):
        with pytest.raises(ConfigError, match="num_bands must be at least 1, got 0"):
            band_weights(1.0, 0)


class TestAlpha:
    config = TrackingConfig(iterations=100, spectral_fraction=0.6, warmup_fraction=0.2,
                            alpha_start=1.0, num_bands=5, expansion="linear_band")

    def test_warmup_holds_alpha_start_then_linear_band_rises_evenly_to_num_bands(self):
        alphas = [alpha_at(s, 100, self.config) for s in range(100)]
        assert alphas[:21] == [1.0] * 21  # steps 0 .. 19 warm-up; step 20 starts the rise at u = 0
        assert alphas[59] == pytest.approx(5.0)  # last spectral step
        steps = [b - a for a, b in zip(alphas[20:59], alphas[21:60])]
        assert steps == pytest.approx([4.0 / 39] * 39)
        assert alphas[60:] == [5.0] * 40

    def test_linear_frequency_raises_the_cut_off_frequency_evenly(self):
        config = self.config.replace(expansion="linear_frequency")
        cut_off = [2 ** alpha_at(s, 100, config) for s in range(20, 60)]
        assert cut_off[0] == pytest.approx(2.0) and cut_off[-1] == pytest.approx(32.0)
        steps = [b - a for a, b in zip(cut_off, cut_off[1:])]
        assert steps == pytest.approx([30.0 / 39] * 39)

    def test_linear_frequency_opens_every_band_no_later_than_linear_band(self):
        """log2 of a linear ramp is concave: it lies above the straight line in alpha."""
        frequency = self.config.replace(expansion="linear_frequency")
        for step in range(100):
            assert alpha_at(step, 100, frequency) >= alpha_at(step, 100, self.config) - 1e-12

    def test_alpha_uses_the_given_total(self):
        assert alpha_at(10, 20, self.config) == pytest.approx(1.0 + 4.0 * 6 / 7)

    def test_bad_steps(self):
        with pytest.raises(ConfigError, match="need 0 <= step and total >= 1, got step=-1"):
            alpha_at(-1, 10, self.config)


class TestPhases:
    def test_spectral_then_spatial(self):
        config = TrackingConfig(iterations=10, spectral_fraction=0.7, warmup_fraction=0.2,
                                num_bands=3, spectral_weight_in_spatial_phase=0.25)
        phases = [schedule_at(s, config) for s in range(10)]
        assert [p.name for p in phases] == ["spectral"] * 7 + ["spatial"] * 3
        assert [p.spatial_weight for p in phases] == [0.0] * 7 + [1.0] * 3
        torch.testing.assert_close(phases[0].band_weights, torch.tensor([1.0, 0.0, 0.0]))
        torch.testing.assert_close(phases[6].band_weights, torch.ones(3))
        torch.testing.assert_close(phases[7].band_weights, torch.full((3,), 0.25))

    def test_no_spatial_phase_when_the_spectral_fraction_is_one(self):
        config = TrackingConfig(iterations=8, spectral_fraction=1.0, warmup_fraction=0.0)
        assert {schedule_at(s, config).name for s in range(8)} == {"spectral"}

    def test_step_outside_the_frame(self):
        with pytest.raises(ConfigError, match="step 10 is outside the frame's 10 iterations"):
            schedule_at(10, TrackingConfig(iterations=10))

    def test_learning_rate_decays_exponentially_to_the_final_fraction(self):
        config = TrackingConfig(lr_final_fraction=0.01)
        assert learning_rate_factor(0, 101, config) == 1.0
        assert learning_rate_factor(50, 101, config) == pytest.approx(0.1)
        assert learning_rate_factor(100, 101, config) == pytest.approx(0.01)


class TestConfig:
    def test_robust_is_the_default_and_fast_has_fewer_iterations(self):
        assert preset() == TrackingConfig() == PRESETS["robust"]
        assert preset("fast").iterations < preset("robust").iterations
        assert preset("robust").expansion == "linear_frequency"
        assert preset("fast").expansion == "linear_band"
        assert preset().dssim_weight == 0.2

    def test_unknown_preset_lists_the_known_ones(self):
        with pytest.raises(ConfigError,
                           match=r"unknown preset 'quick'; known presets: fast, robust"):
            preset("quick")

    @pytest.mark.parametrize("name", sorted(PRESETS))
    def test_round_trip_through_json(self, name):
        config = preset(name).replace(num_bands=6, spatial_loss="l2", lr_rotation=3e-3)
        again = TrackingConfig.from_dict(json.loads(json.dumps(config.to_dict())))
        assert again == config and again.num_bands == 6 and again.lr_rotation == 3e-3

    def test_unknown_setting_is_named(self):
        with pytest.raises(ConfigError, match=r"unknown tracking setting\(s\) warmup; known "
                                              r"settings: align_first_frame, align_iterations, "
                                              r"alpha_start, appearance_temporal_weight, "
                                              r"arap_weight"):
            TrackingConfig.from_dict({"warmup": 0.1})

    @pytest.mark.parametrize("changes, message", [
        ({"warmup_fraction": 0.8, "spectral_fraction": 0.5},
         r"warmup_fraction \(0.8\) exceeds spectral_fraction \(0.5\)"),
        ({"expansion": "cosine"}, r"unknown expansion 'cosine'; choose one of linear_band, "
                                  r"linear_frequency"),
        ({"spatial_loss": "ssim"}, r"unknown spatial_loss 'ssim'; choose one of l1, l2"),
        ({"iterations": 0}, r"iterations must be a positive integer, got 0"),
        ({"multiresolution_min_side": 16},
         r"multiresolution_min_side must be at least 32 pixels .* got 16"),
        ({"num_bands": 2.5}, r"num_bands must be a positive integer, got 2.5"),
        ({"alpha_start": 9.0}, r"alpha_start must lie in \[0, num_bands = 7\], got 9.0"),
        ({"lr_translation": 0.0}, r"learning rate lr_translation must be above 0 and at most 10, "
                                  r"got 0.0"),
        ({"dssim_weight": 1.5}, r"dssim_weight must lie in \[0, 1\], got 1.5"),
        ({"spectral_fraction": float("nan")}, r"spectral_fraction must be a finite number"),
    ])
    def test_invalid_settings(self, changes, message):
        with pytest.raises(ConfigError, match=message):
            TrackingConfig().replace(**changes)

    def test_every_field_is_documented_with_its_default(self):
        docs = TrackingConfig.describe()
        assert set(docs) == set(TrackingConfig().to_dict())
        for name, text in docs.items():
            suffix = f" (default {getattr(TrackingConfig(), name)!r})"
            assert text.endswith(suffix) and len(text) > len(suffix) + 20, name
