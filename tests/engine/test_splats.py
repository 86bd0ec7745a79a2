"""The Splats container: shape checks, SH degree, conversions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.splats import Splats, sh_degree_from_coeffs


def make(n=5, coeffs=4, **over):
    rng = np.random.default_rng(0)
    fields = dict(means=rng.normal(size=(n, 3)), quats=rng.normal(size=(n, 4)),
                  log_scales=rng.normal(size=(n, 3)), opacity_logits=rng.normal(size=n),
                  sh=rng.normal(size=(n, coeffs, 3)))
    fields.update(over)
    return Splats(**{k: (v.astype(np.float32) if v is not None else None)
                     for k, v in fields.items()})


@pytest.mark.parametrize("coeffs, degree", [(1, 0), (4, 1), (9, 2), (16, 3)])
def test_sh_degree(coeffs, degree):
    assert make(coeffs=coeffs).sh_degree == degree == sh_degree_from_coeffs(coeffs)


def test_coefficient_count_that_is_no_degree():
    with pytest.raises(ValueError, match="5 SH coefficients is no degree"):
        make(coeffs=5)


@pytest.mark.parametrize("field, shape, expected", [
    ("quats", (5, 3), r"quats has shape \(5, 3\), expected \(5, 4\)"),
    ("opacity_logits", (4,), r"opacity_logits has shape \(4,\), expected \(5,\)"),
    ("sh", (5, 4, 4), r"sh has shape \(5, 4, 4\)"),
    ("normals", (5, 2), r"normals has shape \(5, 2\)"),
])
def test_mismatched_shapes_name_the_field(field, shape, expected):
    with pytest.raises(ValueError, match=expected):
        make(**{field: np.zeros(shape)})


def test_torch_round_trip_and_subset():
    s = make(n=6, coeffs=9)
    t = s.to_torch(dtype=torch.float64)
    assert t.means.dtype == torch.float64 and t.sh.shape == (6, 9, 3)
    back = t.to_numpy()
    assert back.means.dtype == np.float32 and np.array_equal(back.sh, s.sh)
    sub = s.subset(np.array([True, False, True, False, False, True]))
    assert len(sub) == 3 and np.array_equal(sub.means, s.means[[0, 2, 5]])


def test_derived_colour_and_opacity_agree_between_numpy_and_torch():
    s = make()
    t = s.to_torch(dtype=torch.float64)
    np.testing.assert_allclose(t.colors_dc().numpy(), s.colors_dc(), rtol=1e-6)
    np.testing.assert_allclose(t.opacities().numpy(), s.opacities(), rtol=1e-6)
    assert s.opacities().min() > 0 and s.opacities().max() < 1
