"""The shift-radius experiment: footprint, overlap and image-plane shift helpers against
known values; then the zero-overlap claim on a fixed seed set (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.errors import ConfigError
from spectralsplats_addon.engine.io import read_splats
from spectralsplats_addon.lab.shift_experiment import (EXPERIMENT_CONFIG, FRAMING_FILL,
                                                          PIXEL_CONFIG, coverage_subset,
                                                          framing_camera, image_footprint,
                                                          image_plane_shift, make_cases,
                                                          make_marker_asset, make_scene,
                                                          mask_overlap, run_case, success_rate)

DONUT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "donut.ply"


def test_footprint_and_overlap_of_known_masks():
    alpha = torch.zeros(20, 30)
    alpha[2:7, 10:19] = 0.5  # 5 rows, 9 columns
    assert image_footprint(alpha) == 9.0
    other = torch.zeros(20, 30)
    other[5:7, 10:12] = 1.0  # 4 of the 45 target pixels
    assert mask_overlap(other, alpha) == pytest.approx(4 / 45)
    assert mask_overlap(torch.roll(alpha, 9, 1), alpha) == 0.0
    with pytest.raises(ConfigError, match="the asset covers no pixel of the target"):
        image_footprint(torch.zeros(4, 4))


def test_image_plane_shift_moves_the_projection_by_the_requested_pixels():
    splats = make_marker_asset(200)
    cam = framing_camera(splats, 64, 0.2)
    c = splats.means.mean(0).double().numpy()
    t = image_plane_shift(cam, c, (5.0, -3.0))
    before, after = cam.project(np.stack([c, c + t]))
    assert np.allclose(after[:2] - before[:2], [5.0, -3.0], atol=1e-9)
    assert after[2] == pytest.approx(before[2])  # parallel to the image plane


def test_cases_are_seeded_and_far_radii_do_not_overlap():
    splats = make_marker_asset(200)
    scene = make_scene("marker", splats, framing_camera(splats, 64, 0.2))
    a = make_cases(scene, [0.25, 1.5], 3, seed=7)
    b = make_cases(scene, [0.25, 1.5], 3, seed=7)
    assert [c.direction_deg for c in a] == [c.direction_deg for c in b]
    assert all(c.overlap > 0.3 for c in a[:3]) and all(c.overlap == 0 for c in a[3:])
    shift_px = [np.linalg.norm(scene.camera.project(
        (scene.centre.double().numpy() + c.translation)[None])[0, :2]
        - scene.camera.project(scene.centre.double().numpy()[None])[0, :2]) for c in a]
    assert np.allclose(shift_px, [0.25 * scene.footprint_px] * 3 + [1.5 * scene.footprint_px] * 3)


def _claim(scene, seed):
    """Spectral tracking recovers >= 90 % of the zero-overlap starts at 1.25 and 1.5
    footprints; the pixel loss recovers at least 0.4 fewer of the same starts."""
    cases = [c for c in make_cases(scene, [1.25, 1.5], 5, seed=seed) if c.overlap == 0]
    assert len(cases) >= 9
    spectral = [run_case(scene, c, EXPERIMENT_CONFIG, "spectral") for c in cases]
    pixel = [run_case(scene, c, PIXEL_CONFIG, "pixel") for c in cases]
    rate_s, rate_p = success_rate(spectral), success_rate(pixel)
    assert rate_s >= 0.9, [round(r.translation_error, 4) for r in spectral]
    assert rate_p <= rate_s - 0.4, (rate_s, rate_p)


@pytest.mark.slow
def test_spectral_tracking_recovers_zero_overlap_shifts_of_the_synthetic_asset():
    splats = make_marker_asset(600)
    _claim(make_scene("marker", splats, framing_camera(splats, 64, FRAMING_FILL)), seed=0)


@pytest.mark.slow
def test_spectral_tracking_recovers_zero_overlap_shifts_of_the_donut():
    """At 128 px the spectral phase runs its early steps at 64 px (multi-resolution on, the
    default): recovery must hold there too."""
    splats = coverage_subset(read_splats(DONUT).to_torch(), 2000)
    assert EXPERIMENT_CONFIG.multiresolution and EXPERIMENT_CONFIG.multiresolution_min_side == 64
    _claim(make_scene("donut", splats, framing_camera(splats, 128, FRAMING_FILL)), seed=0)
