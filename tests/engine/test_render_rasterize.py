"""The pure-PyTorch rasterizer against a dense float64 reading of the rasterizer contract,
forward and gradients, and the full torch pipeline of render() against the same reference."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

from spectralsplats_addon.engine.errors import RenderError
from spectralsplats_addon.engine.io import read_splats
from spectralsplats_addon.engine.render import render
from spectralsplats_addon.engine.render.projection import camera_centre, project_gaussians
from spectralsplats_addon.engine.render.rasterize_torch import rasterize_torch
from spectralsplats_addon.engine.render.sh import eval_sh_colors
from spectralsplats_addon.lab.synthetic import make_synthetic_splats, synthetic_camera

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real_splats"
F64 = torch.float64


def dense_rasterize(means2d, conics, colors, opacities, depths, radii, width, height,
                    background=None, stopped_out=None):
    """Every splat at every pixel, one splat at a time in (depth, index) order; the number of
    pixels that reached the transmittance stop is appended to ``stopped_out`` if given."""
    n, d = colors.shape
    ys, xs = torch.meshgrid(torch.arange(height, dtype=F64), torch.arange(width, dtype=F64),
                            indexing="ij")
    px, py = xs.reshape(-1) + 0.5, ys.reshape(-1) + 0.5
    transmittance = torch.ones(height * width, dtype=F64)
    image = torch.zeros(height * width, d, dtype=F64)
    stopped = torch.zeros(height * width, dtype=torch.bool)
    for i in sorted(range(n), key=lambda k: (float(depths[k].detach()), k)):
        if int(radii[i, 0]) <= 0 or int(radii[i, 1]) <= 0:
            continue
        dx, dy = means2d[i, 0] - px, means2d[i, 1] - py
        in_box = (dx.abs() <= float(radii[i, 0])) & (dy.abs() <= float(radii[i, 1]))
        sigma = 0.5 * (conics[i, 0] * dx**2 + conics[i, 2] * dy**2) + conics[i, 1] * dx * dy
        alpha = torch.clamp(opacities[i] * torch.exp(-sigma), max=0.999)
        takes = in_box & (sigma >= 0) & (alpha >= 1 / 255) & ~stopped
        stop = takes & (transmittance * (1 - alpha) < 1e-4)
        stopped = stopped | stop
        alpha = torch.where(takes & ~stop, alpha, torch.zeros_like(alpha))
        image = image + (alpha * transmittance)[:, None] * colors[i]
        transmittance = transmittance * (1 - alpha)
    if background is not None:
        image = image + transmittance[:, None] * background
    if stopped_out is not None:
        stopped_out.append(int(stopped.sum()))
    return image.reshape(height, width, d), (1 - transmittance).reshape(height, width)


def random_scene(n=40, width=24, height=20, d=3, seed=0, dtype=F64):
    """Splats of 1 to 4 pixels across, some culled, some with tight boxes, some opaque."""
    g = torch.Generator().manual_seed(seed)
    means2d = torch.rand(n, 2, generator=g, dtype=F64) * torch.tensor([width + 6.0, height + 6.0],
                                                                      dtype=F64) - 3.0
    sx = torch.rand(n, generator=g, dtype=F64) * 3 + 0.7
    sy = torch.rand(n, generator=g, dtype=F64) * 3 + 0.7
    rho = torch.rand(n, generator=g, dtype=F64) * 1.6 - 0.8
    cov_xy = rho * sx * sy
    det = sx**2 * sy**2 - cov_xy**2
    conics = torch.stack([sy**2 / det, -cov_xy / det, sx**2 / det], dim=-1)
    colors = torch.rand(n, d, generator=g, dtype=F64)
    opacities = torch.rand(n, generator=g, dtype=F64) * 0.95 + 0.04
    opacities[::4] = 1.0  # clamped at 0.999, and clustered: pixels reach the transmittance stop
    means2d[::4] = means2d[::4] * 0.1 + torch.tensor([0.45 * width, 0.45 * height], dtype=F64)
    depths = torch.rand(n, generator=g, dtype=F64) * 5 + 1
    depths[5] = depths[6]  # a tie: lower index in front
    radii = torch.stack([torch.ceil(3.33 * sx), torch.ceil(3.33 * sy)], dim=-1).to(torch.int32)
    radii[3] = 0  # culled
    radii[8, 0] = 1  # a box narrower than the splat: its pixels are cut off at the box
    radii[9, 1] = 0  # one zero radius culls too
    background = torch.tensor([0.2, 0.5, 0.9][:d] + [0.3] * max(0, d - 3), dtype=F64)
    return ([t.to(dtype) for t in (means2d, conics, colors, opacities, depths)]
            + [radii, width, height, background.to(dtype)])


def test_forward_matches_the_dense_reference_float64():
    args = random_scene()
    image, alpha = rasterize_torch(*args)
    stopped = []
    ref_image, ref_alpha = dense_rasterize(*args, stopped_out=stopped)
    assert stopped[0] > 5  # the scene reaches the transmittance stop
    assert_close(image, ref_image, atol=1e-12, rtol=1e-10)
    assert_close(alpha, ref_alpha, atol=1e-12, rtol=1e-10)


def test_float32_matches_the_float64_reference_and_keeps_its_dtype():
    args32 = random_scene(dtype=torch.float32)
    image, alpha = rasterize_torch(*args32)
    assert image.dtype == alpha.dtype == torch.float32
    ref_image, ref_alpha = dense_rasterize(*random_scene())
    assert_close(image, ref_image.float(), atol=2e-5, rtol=1e-4)
    assert_close(alpha, ref_alpha.float(), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("d", [1, 5])
def test_gradients_match_the_dense_reference(d):
    means2d, conics, colors, opacities, depths, radii, w, h, bg = random_scene(d=d, seed=d)
    inputs = [t.clone().requires_grad_(True) for t in (means2d, conics, colors, opacities, bg)]
    weights = torch.rand(h, w, d + 1, generator=torch.Generator().manual_seed(7), dtype=F64)

    def grads(fn):
        m, cn, col, op, b = (t.detach().clone().requires_grad_(True) for t in inputs)
        image, alpha = fn(m, cn, col, op, depths, radii, w, h, b)
        loss = (image * weights[..., :d]).sum() + (alpha * weights[..., d]).sum()
        return torch.autograd.grad(loss, (m, cn, col, op, b))

    for got, want, name in zip(grads(rasterize_torch), grads(dense_rasterize),
                               ("means2d", "conics", "colors", "opacities", "background")):
        assert want.abs().max() > 0, name
        assert_close(got, want, atol=1e-10, rtol=1e-8, msg=lambda m, n=name: f"{n}: {m}")


def test_small_chunks_give_the_same_image_as_one_chunk(monkeypatch):
    """Chunking and the per-chunk saturation filter change nothing: 7 candidate pairs a chunk."""
    args = random_scene(n=60, seed=3)
    image, alpha = rasterize_torch(*args)
    module = sys.modules["spectralsplats_addon.engine.render.rasterize_torch"]
    monkeypatch.setattr(module, "PAIR_CHUNK", 7)
    image_small, alpha_small = rasterize_torch(*args)
    assert_close(image_small, image, atol=1e-13, rtol=1e-12)
    assert_close(alpha_small, alpha, atol=1e-13, rtol=1e-12)


def one_pixel_splats(depths, colors, opacity=1.0):
    """Splats centred on pixel (1, 1) of a 3 x 3 image, each seen by that pixel alone."""
    n = len(depths)
    means2d = torch.full((n, 2), 1.5, dtype=F64)
    conics = torch.tensor([[1.0, 0.0, 1.0]], dtype=F64).repeat(n, 1)
    radii = torch.ones(n, 2, dtype=torch.int32)
    return (means2d, conics, torch.tensor(colors, dtype=F64), torch.full((n,), opacity, dtype=F64),
            torch.tensor(depths, dtype=F64), radii, 3, 3)


def test_the_front_splat_occludes_and_order_follows_depth_not_index():
    red, blue, bg = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], torch.tensor([0.0, 1.0, 0.0], dtype=F64)
    a1, a2 = 0.6, 0.6
    for depths, front, back in (([1.0, 2.0], red, blue), ([2.0, 1.0], blue, red)):
        image, alpha = rasterize_torch(*one_pixel_splats(depths, [red, blue], opacity=0.6), bg)
        want = (a1 * torch.tensor(front, dtype=F64) + (1 - a1) * a2 * torch.tensor(back, dtype=F64)
                + (1 - a1) * (1 - a2) * bg)
        assert_close(image[1, 1], want, atol=1e-15, rtol=0)
        assert alpha[1, 1].item() == pytest.approx(1 - (1 - a1) * (1 - a2), abs=1e-15)


def test_a_pixel_stops_before_the_splat_that_takes_it_below_1e_4():
    """Opacity 1 clamps to alpha 0.999: after one splat T = 1e-3, the next would give 1e-6."""
    rgb = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    image, alpha = rasterize_torch(*one_pixel_splats([1.0, 2.0, 3.0], rgb),
                                   torch.tensor([1.0, 1.0, 1.0], dtype=F64))
    assert_close(image[1, 1], torch.tensor([0.999 + 1e-3, 1e-3, 1e-3], dtype=F64),
                 atol=1e-15, rtol=0)
    assert alpha[1, 1].item() == pytest.approx(0.999, abs=1e-15)


def test_equal_depths_composite_in_index_order():
    image, _ = rasterize_torch(*one_pixel_splats([1.0, 1.0], [[1, 0, 0], [0, 0, 1]], opacity=0.5))
    assert_close(image[1, 1], torch.tensor([0.5, 0.0, 0.25], dtype=F64), atol=1e-15, rtol=0)


def test_the_box_cuts_the_splat_and_pixel_centres_sit_at_half_pixels():
    """A wide splat centred on pixel (4, 3)'s centre with a 1 x 2 box reaches 3 x 5 pixels."""
    means2d = torch.tensor([[4.5, 3.5]], dtype=F64)
    conics = torch.tensor([[0.01, 0.0, 0.01]], dtype=F64)
    args = (means2d, conics, torch.ones(1, 1, dtype=F64), torch.tensor([0.5], dtype=F64),
            torch.ones(1, dtype=F64), torch.tensor([[1, 2]], dtype=torch.int32), 9, 7)
    _, alpha = rasterize_torch(*args)
    covered = (alpha > 0).nonzero().tolist()
    assert covered == [[y, x] for y in range(1, 6) for x in range(3, 6)]
    assert alpha[3, 4].item() == pytest.approx(0.5, abs=1e-15)  # the centre pixel: exp(0)
    assert alpha[1, 3].item() == pytest.approx(0.5 * math.exp(-0.5 * 0.01 * 5))  # d = (1, 2)


def test_no_visible_splat_gives_the_background_with_alpha_zero():
    means2d, conics, colors, opacities, depths, radii, w, h, bg = random_scene()
    image, alpha = rasterize_torch(means2d, conics, colors, opacities, depths, radii * 0, w, h, bg)
    assert torch.equal(alpha, torch.zeros(h, w, dtype=F64))
    assert torch.equal(image, bg.expand(h, w, 3))
    empty = [t[:0] for t in (means2d, conics, colors, opacities, depths, radii)]
    image, alpha = rasterize_torch(*empty, w, h)
    assert torch.equal(image, torch.zeros(h, w, 3, dtype=F64)) and not alpha.any()


def test_bad_inputs_are_named():
    means2d, conics, colors, opacities, depths, radii, w, h, bg = random_scene()
    with pytest.raises(RenderError, match=r"conics has shape \(40, 2\), expected \(40, 3\)"):
        rasterize_torch(means2d, conics[:, :2], colors, opacities, depths, radii, w, h)
    with pytest.raises(RenderError, match=r"opacities is torch.float32, means2d is torch.float64"):
        rasterize_torch(means2d, conics, colors, opacities.float(), depths, radii, w, h)
    with pytest.raises(RenderError, match=r"background has shape \(4,\), expected \(3,\)"):
        rasterize_torch(means2d, conics, colors, opacities, depths, radii, w, h, torch.zeros(4))
    with pytest.raises(RenderError, match="image size must be positive, got 0 x 20"):
        rasterize_torch(means2d, conics, colors, opacities, depths, radii, 0, h)


def pipeline_reference(splats, camera, background, degree):
    """Our projection and SH, then the dense rasterizer: what render(backend='torch') composes."""
    viewmat = torch.as_tensor(camera.viewmat, dtype=F64)
    K = torch.as_tensor(camera.K, dtype=F64)
    opacities = splats.opacity_logits.sigmoid()
    proj = project_gaussians(splats.means, splats.quats, splats.log_scales, opacities, viewmat, K,
                             camera.width, camera.height, camera.near, camera.far)
    colors = eval_sh_colors(splats.sh, splats.means - camera_centre(viewmat), degree)
    return dense_rasterize(proj.means2d, proj.conics, colors, opacities, proj.depths, proj.radii,
                           camera.width, camera.height, background)


FIELDS = ("means", "quats", "log_scales", "opacity_logits", "sh")


def test_render_torch_backend_matches_the_dense_pipeline_forward_and_gradients():
    splats = make_synthetic_splats(60, seed=11, sh_degree=2, dtype=F64)
    camera = synthetic_camera(20, 16, fill=0.8)
    background = torch.tensor([0.1, 0.2, 0.3], dtype=F64)
    weights = torch.rand(16, 20, 4, generator=torch.Generator().manual_seed(1), dtype=F64)

    def run(fn):
        for name in FIELDS:
            getattr(splats, name).grad = None
            getattr(splats, name).requires_grad_(True)
        rgb, alpha = fn()
        ((rgb * weights[..., :3]).sum() + (alpha * weights[..., 3]).sum()).backward()
        return rgb.detach(), alpha.detach(), [getattr(splats, f).grad.clone() for f in FIELDS]

    def torch_backend():
        out = render(splats, camera, background, backend="torch")
        return out.rgb, out.alpha

    out = run(torch_backend)
    ref = run(lambda: pipeline_reference(splats, camera, background, 2))
    assert_close(out[0], ref[0], atol=1e-12, rtol=1e-10)
    assert_close(out[1], ref[1], atol=1e-12, rtol=1e-10)
    for got, want, name in zip(out[2], ref[2], FIELDS):
        assert want.abs().max() > 0, name
        assert_close(got, want, atol=1e-10, rtol=1e-8, msg=lambda m, n=name: f"{n}: {m}")


def test_real_lod3_tile_with_extreme_values_matches_the_dense_pipeline():
    """Quaternion norms 0.37 to 2.65, log-scales down to -22.9, logits up to 16.7, SH degree 3."""
    splats = read_splats(REAL / "lod3.ply").to_torch(dtype=F64)
    centre = splats.means.mean(0).numpy()
    camera = synthetic_camera(32, 24, extent=float(splats.means.std(0).max()) * 3, fill=0.9)
    camera.viewmat[:3, 3] -= camera.viewmat[:3, :3] @ centre  # look at the tile's centre
    out = render(splats, camera, backend="torch")
    ref_rgb, ref_alpha = pipeline_reference(splats, camera, None, 3)
    assert (out.radii > 0).all(-1).sum() > 100
    assert ref_alpha.max() > 0.5
    assert_close(out.rgb, ref_rgb, atol=1e-12, rtol=1e-10)
    assert_close(out.alpha, ref_alpha, atol=1e-12, rtol=1e-10)
