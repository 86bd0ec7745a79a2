"""The compiled CPU rasterizer against the rasterizer contract: known values, the pure-PyTorch
reference (forward and the four gradients), a plain per-splat float64 reading of the
contract, gradcheck, determinism and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.errors import RenderError
from spectralsplats_addon.engine.render.rasterize_numba import rasterize_numba
from spectralsplats_addon.engine.render.rasterize_torch import rasterize_torch

INPUTS = ("means2d", "conics", "colors", "opacities")


def dense_rasterize(means2d, conics, colors, opacities, depths, radii, width, height,
                    background=None):
    """The contract read literally: one splat at a time over every pixel, float64."""
    f64 = torch.float64
    ys, xs = torch.meshgrid(torch.arange(height, dtype=f64), torch.arange(width, dtype=f64),
                            indexing="ij")
    px, py = xs + 0.5, ys + 0.5
    trans = torch.ones(height, width, dtype=f64)
    live = torch.ones(height, width, dtype=torch.bool)
    image = torch.zeros(height, width, colors.shape[1], dtype=f64)
    for i in sorted(range(len(depths)), key=lambda i: (float(depths[i]), i)):
        if radii[i, 0] <= 0 or radii[i, 1] <= 0:
            continue
        dx, dy = means2d[i, 0] - px, means2d[i, 1] - py
        a, b, c = conics[i]
        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
        alpha = torch.clamp(opacities[i] * torch.exp(-sigma), max=0.999)
        takes_part = ((dx.abs() <= radii[i, 0]) & (dy.abs() <= radii[i, 1]) & (sigma >= 0)
                      & (alpha >= 1.0 / 255.0) & live)
        stops = takes_part & (trans * (1.0 - alpha) < 1e-4)
        live = live & ~stops
        alpha = torch.where(takes_part & ~stops, alpha, torch.zeros_like(alpha))
        image = image + colors[i] * (alpha * trans)[..., None]
        trans = trans * (1.0 - alpha)
    if background is not None:
        image = image + trans[..., None] * background
    return image, 1.0 - trans


def random_scene(n, width, height, d=3, seed=0, dtype=torch.float64, max_radius=14):
    """Overlapping splats, some partly or wholly off screen, some culled (a radius of 0),
    some with an indefinite conic (sigma < 0 somewhere), opacities across the thresholds."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.rand(*shape, generator=g, dtype=torch.float64)
    means2d = rand(n, 2) * torch.tensor([width + 16.0, height + 16.0]) - 8.0
    basis = rand(n, 2, 2) - 0.5
    cov = basis @ basis.transpose(1, 2) * 80.0 + 0.6 * torch.eye(2, dtype=torch.float64)
    inv = torch.linalg.inv(cov)
    conics = torch.stack([inv[:, 0, 0], inv[:, 0, 1], inv[:, 1, 1]], dim=1)
    conics[::11, 1] = 3.0 * (conics[::11, 0] * conics[::11, 2]).sqrt()  # indefinite
    opacities = rand(n) ** 0.5
    opacities[::7] = rand(len(opacities[::7])) * 0.01  # around 1/255
    radii = torch.randint(0, max_radius, (n, 2), generator=g, dtype=torch.int32)
    colors = rand(n, d)
    depths = rand(n)
    depths[1::9] = depths[::9][: len(depths[1::9])]  # ties, broken by index
    cast = lambda x: x.to(dtype)
    return dict(means2d=cast(means2d), conics=cast(conics), colors=cast(colors),
                opacities=cast(opacities), depths=cast(depths), radii=radii,
                width=width, height=height, background=cast(rand(d)))


def opaque_stack_scene(dtype=torch.float64):
    """Nearly opaque wide splats stacked at every pixel: the T < 1e-4 stop everywhere,
    with splats straddling the tile edges at x = 16 and y = 16."""
    n = 24
    g = torch.Generator().manual_seed(5)
    means2d = torch.rand(n, 2, generator=g, dtype=torch.float64) * 8.0 + 12.0
    conics = torch.tensor([[0.006, 0.001, 0.008]], dtype=torch.float64).repeat(n, 1)
    return dict(means2d=means2d.to(dtype), conics=conics.to(dtype),
                colors=torch.rand(n, 3, generator=g, dtype=torch.float64).to(dtype),
                opacities=(0.9 + 0.1 * torch.rand(n, generator=g, dtype=torch.float64)).to(dtype),
                depths=torch.rand(n, generator=g, dtype=torch.float64).to(dtype),
                radii=torch.full((n, 2), 20, dtype=torch.int32), width=33, height=30,
                background=torch.tensor([0.2, 0.5, 0.9], dtype=dtype))


def run_with_grads(fn, scene, seed=1):
    """Forward and the gradients of a random linear function of (image, alpha)."""
    leaves = {k: scene[k].detach().clone().requires_grad_(True) for k in INPUTS}
    image, alpha = fn(**{**scene, **leaves})
    g = torch.Generator().manual_seed(seed)
    w_image = torch.randn(image.shape, generator=g, dtype=torch.float64).to(image.dtype)
    w_alpha = torch.randn(alpha.shape, generator=g, dtype=torch.float64).to(alpha.dtype)
    ((image * w_image).sum() + (alpha * w_alpha).sum()).backward()
    return image.detach(), alpha.detach(), {k: leaves[k].grad for k in INPUTS}


def assert_close(actual, expected, rtol, atol, what):
    scale = expected.abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol * max(scale, 1.0),
                               msg=lambda m: f"{what}: {m}")


def test_one_splat_gives_the_closed_form_value_at_each_pixel():
    """sigma at pixel (3, 2) for m = (4.0, 2.25): d = (0.5, -0.25)."""
    scene = dict(means2d=torch.tensor([[4.0, 2.25]], dtype=torch.float64),
                 conics=torch.tensor([[0.8, 0.3, 0.5]], dtype=torch.float64),
                 colors=torch.tensor([[1.0, 0.5]], dtype=torch.float64),
                 opacities=torch.tensor([0.7], dtype=torch.float64),
                 depths=torch.tensor([1.0], dtype=torch.float64),
                 radii=torch.tensor([[3, 2]], dtype=torch.int32), width=9, height=6,
                 background=torch.tensor([0.1, 0.2], dtype=torch.float64))
    image, alpha = rasterize_numba(**scene)
    sigma = 0.5 * (0.8 * 0.25 + 0.5 * 0.0625) + 0.3 * 0.5 * -0.25
    a = 0.7 * math.exp(-sigma)
    assert alpha[2, 3].item() == pytest.approx(a, rel=1e-14)
    assert image[2, 3].tolist() == pytest.approx([a + (1 - a) * 0.1, 0.5 * a + (1 - a) * 0.2],
                                                 rel=1e-14)
    # The box: |x + 0.5 - 4| <= 3 keeps x = 1..6 (x = 0 and 7 lie just outside).
    assert alpha[2, 1].item() > 0 and alpha[2, 6].item() > 0
    assert alpha[2, 0].item() == 0 and alpha[2, 7].item() == 0
    assert image[2, 0].tolist() == [0.1, 0.2]


def test_the_stop_leaves_the_splat_that_would_cross_it_out():
    """Three splats of alpha 0.999 at one pixel: after the first T = 1e-3; the second would
    take T to 1e-6 < 1e-4, so the pixel stops there and neither it nor the third shows."""
    n = 3
    scene = dict(means2d=torch.full((n, 2), 0.5, dtype=torch.float64),
                 conics=torch.ones(n, 3, dtype=torch.float64),
                 colors=torch.eye(3, dtype=torch.float64),
                 opacities=torch.ones(n, dtype=torch.float64),
                 depths=torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64),
                 radii=torch.ones(n, 2, dtype=torch.int32), width=1, height=1,
                 background=torch.tensor([0.0, 0.0, 10.0], dtype=torch.float64))
    image, alpha = rasterize_numba(**scene)
    assert image[0, 0].tolist() == pytest.approx([0.0, 0.999, 0.001 * 10.0], rel=1e-12)
    assert alpha[0, 0].item() == pytest.approx(0.999, rel=1e-12)


def test_below_the_alpha_threshold_a_splat_is_skipped_and_does_not_stop_the_pixel():
    o = torch.tensor([1.0 / 255.0 * 0.999, 1.0 / 255.0 * 1.001], dtype=torch.float64)
    scene = dict(means2d=torch.tensor([[0.5, 0.5], [1.5, 0.5]], dtype=torch.float64),
                 conics=torch.zeros(2, 3, dtype=torch.float64), colors=torch.ones(2, 1,
                                                                                  dtype=torch.float64),
                 opacities=o, depths=torch.zeros(2, dtype=torch.float64),
                 radii=torch.tensor([[0, 1], [1, 1]], dtype=torch.int32), width=3, height=1)
    _, alpha = rasterize_numba(**scene)  # splat 0 is culled by its radius of 0
    assert alpha[0].tolist() == pytest.approx([o[1].item()] * 3, rel=1e-14)
    scene["radii"] = torch.ones(2, 2, dtype=torch.int32)
    scene["means2d"] = torch.tensor([[1.5, 0.5], [10.0, 10.0]], dtype=torch.float64)
    _, alpha = rasterize_numba(**scene)
    assert alpha[0].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("d", [1, 3, 5])
def test_random_scenes_match_the_reference_and_the_literal_contract_in_float64(d):
    scene = random_scene(90, 45, 37, d=d, seed=d)
    image, alpha, grads = run_with_grads(rasterize_numba, scene)
    ref_image, ref_alpha, ref_grads = run_with_grads(rasterize_torch, scene)
    lit_image, lit_alpha = dense_rasterize(**scene)
    assert alpha.max() > 0.99 and (alpha == 0).any()  # saturated and empty pixels both occur
    for ref_i, ref_a in ((ref_image, ref_alpha), (lit_image, lit_alpha)):
        assert_close(image, ref_i, rtol=1e-10, atol=1e-12, what="image")
        assert_close(alpha, ref_a, rtol=1e-10, atol=1e-12, what="alpha")
    for k in INPUTS:
        assert_close(grads[k], ref_grads[k], rtol=1e-8, atol=1e-10, what=f"d {k}")


def test_the_stop_and_tile_edges_match_the_reference_with_gradients():
    scene = opaque_stack_scene()
    image, alpha, grads = run_with_grads(rasterize_numba, scene)
    ref_image, ref_alpha, ref_grads = run_with_grads(rasterize_torch, scene)
    assert (alpha > 1 - 1e-3).float().mean() > 0.5  # most pixels hit the stop
    assert_close(image, ref_image, rtol=1e-10, atol=1e-12, what="image")
    assert_close(alpha, ref_alpha, rtol=1e-10, atol=1e-12, what="alpha")
    for k in INPUTS:
        assert_close(grads[k], ref_grads[k], rtol=1e-7, atol=1e-9, what=f"d {k}")


def test_thin_rotated_splats_lose_no_pixel_to_the_row_spans():
    """Long thin ellipses at 45 degrees: the per-row span of the ellipse is far narrower
    than the box, so a wrong span would drop pixels the reference keeps."""
    n = 12
    angle = torch.linspace(0.1, 3.0, n, dtype=torch.float64)
    rot = torch.stack([angle.cos(), -angle.sin(), angle.sin(), angle.cos()], 1).reshape(n, 2, 2)
    cov = rot @ torch.diag(torch.tensor([60.0, 0.3], dtype=torch.float64)) @ rot.transpose(1, 2)
    inv = torch.linalg.inv(cov)
    scene = dict(means2d=torch.rand(n, 2, generator=torch.Generator().manual_seed(2),
                                    dtype=torch.float64) * 30.0,
                 conics=torch.stack([inv[:, 0, 0], inv[:, 0, 1], inv[:, 1, 1]], 1),
                 colors=torch.rand(n, 3, dtype=torch.float64), opacities=torch.full((n,), 0.6,
                                                                                   dtype=torch.float64),
                 depths=torch.arange(n, dtype=torch.float64), radii=torch.full((n, 2), 26,
                                                                              dtype=torch.int32),
                 width=32, height=32)
    image, alpha, grads = run_with_grads(rasterize_numba, scene)
    ref_image, ref_alpha, ref_grads = run_with_grads(rasterize_torch, scene)
    assert_close(alpha, ref_alpha, rtol=1e-10, atol=1e-12, what="alpha")
    for k in INPUTS:
        assert_close(grads[k], ref_grads[k], rtol=1e-8, atol=1e-10, what=f"d {k}")


def test_float32_in_float32_out_within_float32_rounding_of_the_float64_result():
    scene64 = random_scene(70, 40, 33, seed=7)
    scene32 = {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v)
               for k, v in scene64.items()}
    image, alpha, grads = run_with_grads(rasterize_numba, scene32)
    ref_image, ref_alpha, ref_grads = run_with_grads(
        rasterize_torch, {k: (v.double() if torch.is_tensor(v) and v.is_floating_point() else v)
                          for k, v in scene32.items()})
    assert image.dtype == alpha.dtype == torch.float32
    assert all(g.dtype == torch.float32 for g in grads.values())
    assert_close(image.double(), ref_image, rtol=1e-6, atol=1e-7, what="image")
    for k in INPUTS:
        assert_close(grads[k].double(), ref_grads[k], rtol=1e-5, atol=1e-6, what=f"d {k}")


def test_background_gradient_is_the_final_transmittance_summed():
    scene = random_scene(40, 20, 18, d=2, seed=3)
    bg = scene["background"].clone().requires_grad_(True)
    image, alpha = rasterize_numba(**{**scene, "background": bg})
    image.sum().backward()
    assert bg.grad.tolist() == pytest.approx([(1 - alpha).sum().item()] * 2, rel=1e-12)


def test_gradcheck_on_a_tiny_scene():
    g = torch.Generator().manual_seed(11)
    n = 5
    means2d = (torch.rand(n, 2, generator=g, dtype=torch.float64) * 8 + 2).requires_grad_(True)
    conics = torch.tensor([[0.3, 0.05, 0.2]], dtype=torch.float64).repeat(n, 1).requires_grad_(True)
    colors = torch.rand(n, 2, generator=g, dtype=torch.float64).requires_grad_(True)
    opacities = (torch.rand(n, generator=g, dtype=torch.float64) * 0.6 + 0.2).requires_grad_(True)
    depths = torch.rand(n, generator=g, dtype=torch.float64)
    radii = torch.full((n, 2), 5, dtype=torch.int32)
    background = torch.tensor([0.3, 0.6], dtype=torch.float64, requires_grad=True)

    def fn(m, cn, c, o, bg):
        return rasterize_numba(m, cn, c, o, depths, radii, 12, 11, bg)

    assert torch.autograd.gradcheck(fn, (means2d, conics, colors, opacities, background),
                                    eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradients_are_bitwise_repeatable():
    scene = random_scene(200, 64, 48, seed=4)
    first = run_with_grads(rasterize_numba, scene)[2]
    second = run_with_grads(rasterize_numba, scene)[2]
    assert all(torch.equal(first[k], second[k]) for k in INPUTS)


def test_no_splats_gives_the_background():
    empty = dict(means2d=torch.zeros(0, 2), conics=torch.zeros(0, 3), colors=torch.zeros(0, 3),
                 opacities=torch.zeros(0), depths=torch.zeros(0),
                 radii=torch.zeros(0, 2, dtype=torch.int32), width=20, height=17,
                 background=torch.tensor([0.25, 0.5, 1.0]))
    image, alpha = rasterize_numba(**empty)
    assert image.shape == (17, 20, 3) and torch.equal(image, empty["background"].expand(17, 20, 3))
    assert torch.equal(alpha, torch.zeros(17, 20))


@pytest.mark.parametrize("change, message", [
    (dict(conics=torch.zeros(4, 2)), "conics has shape [4, 2], expected [N, 3] (N = 4, D = 3)"),
    (dict(background=torch.zeros(2)), "background has shape [2], expected [D] (N = 4, D = 3)"),
    (dict(colors=torch.zeros(4, 3, dtype=torch.float64)),
     "colors is torch.float64 but means2d is torch.float32; pass every float input in one dtype"),
    (dict(radii=torch.ones(4, 2)), "radii must be an integer tensor (int32), got torch.float32"),
    (dict(width=0), "needs positive integer width and height, got 0 x 8"),
    (dict(means2d=torch.zeros(4, 2, device="meta")),
     "runs on the CPU but means2d is on meta: move the inputs with .cpu(), or render with "
     "backend='gsplat'"),
])
def test_bad_input_is_a_render_error_that_names_the_problem(change, message):
    scene = dict(means2d=torch.zeros(4, 2), conics=torch.zeros(4, 3), colors=torch.zeros(4, 3),
                 opacities=torch.zeros(4), depths=torch.zeros(4),
                 radii=torch.ones(4, 2, dtype=torch.int32), width=8, height=8, background=None)
    with pytest.raises(RenderError) as caught:
        rasterize_numba(**{**scene, **change})
    assert message in str(caught.value)


def test_depth_order_sorts_like_a_stable_float_argsort():
    """The int64-key sort gives np.argsort(kind="stable")'s order: negatives, -0.0 and +0.0
    (equal, so by index), repeated depths (by index) and infinities included."""
    from spectralsplats_addon.engine.render.rasterize_numba import depth_order

    rng = np.random.default_rng(0)
    for scale in (1e-3, 1.0, 1e4):
        depths = rng.normal(size=4000) * scale
        depths[rng.integers(0, 4000, 300)] = 0.0
        depths[rng.integers(0, 4000, 50)] = -0.0
        depths[rng.integers(0, 4000, 200)] = 1.5
        depths[rng.integers(0, 4000, 10)] = np.inf
        depths[rng.integers(0, 4000, 10)] = -np.inf
        np.testing.assert_array_equal(depth_order(depths), np.argsort(depths, kind="stable"))
