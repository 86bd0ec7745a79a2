"""Multi-resolution spectral phase: the side each alpha needs, the downsampling factor, area
averaging, cameras at a level, the level render's mass against the averaged full render, and
the measured mass gain that closes the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.deform.pose import RigidPose, asset_centre
from spectralsplats_addon.engine.errors import ConfigError
from spectralsplats_addon.engine.io import read_splats
from spectralsplats_addon.engine.loss.multires import (ResolutionPyramid, apply_mass_gain,
                                                  area_downsample, downsample_factor, level_blur,
                                                  level_mass_gain, render_level, side_for_alpha)
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.lab.shift_experiment import (coverage_subset, framing_camera,
                                                          image_plane_shift, make_marker_asset)
from spectralsplats_addon.lab.synthetic import synthetic_camera


@pytest.mark.parametrize("alpha, side", [(0.0, 32), (1.0, 32), (4.0, 32), (4.01, 64), (5.0, 64),
                                         (6.5, 256)])
def test_side_holds_every_weighted_band(alpha, side):
    assert side_for_alpha(alpha) == side
    assert side_for_alpha(1.0, min_side=2) == 4  # 2^(1 + 1)


def test_factor_is_the_largest_power_of_two_that_keeps_the_side_and_divides_the_image():
    assert downsample_factor(1.0, 128, 128) == 4
    assert downsample_factor(3.0, 128, 128) == 4   # needs 16, floor 32
    assert downsample_factor(4.5, 128, 128) == 2   # needs 64
    assert downsample_factor(6.0, 128, 128) == 1   # needs 128
    assert downsample_factor(1.0, 64, 64) == 2
    assert downsample_factor(1.0, 96, 64) == 2     # 48 x 32
    assert downsample_factor(1.0, 102, 64) == 2    # 51 x 32
    assert downsample_factor(1.0, 101, 64) == 1    # 2 does not divide 101
    with pytest.raises(ConfigError, match="min_side must be at least 1 pixel, got 0"):
        downsample_factor(1.0, 64, 64, min_side=0)


def test_area_downsample_is_the_block_mean():
    image = torch.arange(2 * 4 * 6, dtype=torch.float64).reshape(2, 4, 6)
    out = area_downsample(image, 2)
    assert out.shape == (2, 2, 3)
    assert out[1, 1, 2] == image[1, 2:4, 4:6].mean()
    with pytest.raises(ConfigError, match=r"factor 4 does not divide the image size \(4, 6\)"):
        area_downsample(image, 4)


def test_pyramid_levels_scale_the_camera_and_cache_the_target():
    cam = synthetic_camera(128, 128)
    target = torch.rand(4, 128, 128)
    pyr = ResolutionPyramid(target, cam)
    tgt, low = pyr.level(2.0)
    assert (low.width, low.height) == (32, 32)
    assert np.allclose(low.K[:2], cam.K[:2] / 4)
    assert torch.allclose(tgt, area_downsample(target, 4))
    assert pyr.level(2.5)[0] is tgt
    assert ResolutionPyramid(target, cam, enabled=False).factor(1.0) == 1
    with pytest.raises(ConfigError, match=r"target is \(64, 64\) \(H, W\) but the camera renders "
                                          r"128 x 128"):
        ResolutionPyramid(torch.rand(4, 64, 64), cam)


def test_level_render_keeps_the_mass_of_the_averaged_full_render():
    """render() at a level down is much heavier than the full render averaged down (the fixed
    0.3 px^2 dilation); render_level brings the alpha mass close to it."""
    splats = make_marker_asset(600)
    cam = framing_camera(splats, 64, 0.2)
    low = cam.resized(32, 32)
    assert level_blur(1) == 0.3 and level_blur(4) == pytest.approx(0.3 / 16 + 1 / 12)
    with torch.no_grad():
        averaged = area_downsample(render(splats, cam).alpha[None], 2)[0].sum()
        plain = render(splats, low).alpha.sum() / averaged
        level = render_level(splats, low, 2)[1].sum() / averaged
        full = render_level(splats, cam, 1)[1]
    assert plain > 1.4                            # measured 1.53
    assert abs(level - 1) < 0.3 * abs(plain - 1)  # measured 1.11
    assert torch.equal(full, render(splats, cam).alpha)


DONUT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "donut.ply"


def test_level_mass_gain_measured_at_one_pose_corrects_others():
    """Where splats pile up (the real donut) render_level still carries more alpha mass than
    the averaged full render, and how much more varies with the sub-pixel position (point
    samples of splats about a level pixel wide); the gain measured at the rest pose removes
    most of the excess at other poses."""
    splats = coverage_subset(read_splats(DONUT).to_torch(), 2000)
    cam = framing_camera(splats, 64, 0.15)
    low, centre = cam.resized(32, 32), asset_centre(splats)
    gain = level_mass_gain(splats, cam, 2)
    ratios = []
    for shift_px in [(0.0, 0.0), (0.5, 0.0), (1.0, 0.0), (9.0, -5.0), (20.0, 0.0)]:
        shift = image_plane_shift(cam, centre.double().numpy(), shift_px)
        moved = RigidPose(np.zeros(3), shift).apply(splats, centre)
        with torch.no_grad():
            averaged = area_downsample(render(moved, cam).alpha[None], 2)[0].sum()
            ratios.append(float(render_level(moved, low, 2)[1].sum() / averaged))
    ratios = np.array(ratios)
    assert ratios.min() > 1.1                                  # measured 1.15 to 1.28
    assert gain * ratios[0] == pytest.approx(1.0, abs=1e-4)    # exact at the measured pose
    assert np.abs(gain * ratios - 1).mean() < 0.3 * np.abs(ratios - 1).mean()  # 0.04 vs 0.19
    assert level_mass_gain(splats, cam, 1) == 1.0


def test_apply_mass_gain_scales_the_coverage_over_any_background():
    alpha = torch.tensor([[0.5, 0.0], [1.0, 0.25]])
    colour = torch.rand(2, 2, 3) * alpha[..., None]       # premultiplied
    bg = torch.tensor([0.2, 0.4, 0.6])
    rgb = colour + bg * (1 - alpha)[..., None]
    out_rgb, out_alpha = apply_mass_gain(rgb, alpha, 0.8, bg)
    assert torch.allclose(out_alpha, 0.8 * alpha)
    assert torch.allclose(out_rgb, 0.8 * colour + bg * (1 - 0.8 * alpha)[..., None])
    black_rgb, _ = apply_mass_gain(colour, alpha, 0.8)
    assert torch.allclose(black_rgb, 0.8 * colour)
    same = apply_mass_gain(rgb, alpha, 1.0, bg)
    assert same[0] is rgb and same[1] is alpha
