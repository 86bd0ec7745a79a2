"""render(): closed forms, gradcheck through the whole pipeline, batches of cameras, backend
choice, and every kind of bad input."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from spectralsplats_addon.engine.conventions import Camera
from spectralsplats_addon.engine.errors import RenderError
from spectralsplats_addon.engine.render import render, resolve_backend
from spectralsplats_addon.engine.render.projection import camera_centre, project_gaussians
from spectralsplats_addon.engine.render.sh import eval_sh_colors
from spectralsplats_addon.engine.splats import SH_C0, Splats
from spectralsplats_addon.lab.synthetic import make_synthetic_splats, synthetic_camera

F64 = torch.float64
NUMBA_MODULE = "spectralsplats_addon.engine.render.rasterize_numba"


def splats_from(means, log_scales, opacities, colors, quats=None, sh_rest=None, dtype=F64):
    """Splats whose DC colour is ``colors`` (before view dependence)."""
    n = len(means)
    sh = (torch.as_tensor(colors, dtype=dtype) - 0.5)[:, None, :] / SH_C0
    if sh_rest is not None:
        sh = torch.cat([sh, torch.as_tensor(sh_rest, dtype=dtype)], dim=1)
    quats = torch.tensor([[1.0, 0, 0, 0]] * n, dtype=dtype) if quats is None else quats
    opacities = torch.as_tensor(opacities, dtype=dtype)
    return Splats(torch.as_tensor(means, dtype=dtype), torch.as_tensor(quats, dtype=dtype),
                  torch.as_tensor(log_scales, dtype=dtype), torch.log(opacities / (1 - opacities)),
                  sh)


def pinhole(width=40, height=30, f=50.0, viewmat=None):
    """A camera at the origin looking down +z (OpenCV axes), principal point at the centre."""
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    return Camera(np.eye(4) if viewmat is None else viewmat, K, width, height, near=0.1, far=50)


def test_one_isotropic_gaussian_matches_its_closed_form():
    """cov2d = ((f s / z)^2 + 0.3) I, alpha = o exp(-|d|^2 / 2 var) inside the box."""
    s, z, o, f = 0.08, 2.0, 0.7, 50.0
    color, bg = np.array([0.9, 0.3, 0.1]), np.array([0.0, 0.2, 1.0])
    splats = splats_from([[0.0, 0.0, z]], [[math.log(s)] * 3], [o], color[None])
    out = render(splats, pinhole(f=f), torch.tensor(bg), backend="torch")
    var = (f * s / z) ** 2 + 0.3
    r = math.ceil(math.sqrt(2 * math.log(255 * o)) * math.sqrt(var))
    ys, xs = np.mgrid[0:30, 0:40] + 0.5
    dx, dy = 20.0 - xs, 15.0 - ys
    alpha = o * np.exp(-(dx**2 + dy**2) / (2 * var))
    alpha[(alpha < 1 / 255) | (np.abs(dx) > r) | (np.abs(dy) > r)] = 0
    rgb = alpha[..., None] * color + (1 - alpha[..., None]) * bg
    assert out.radii.tolist() == [[r, r]]
    assert_close(out.alpha, torch.tensor(alpha), atol=1e-13, rtol=0)
    assert_close(out.rgb, torch.tensor(rgb), atol=1e-13, rtol=0)


def test_the_nearer_splat_occludes_the_farther_one_whatever_their_order():
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    for z_red, z_blue in ((2.0, 3.0), (3.0, 2.0)):
        splats = splats_from([[0, 0, z_red], [0, 0, z_blue]], [[math.log(0.3)] * 3] * 2,
                             [0.95, 0.95], [red, blue])
        centre = render(splats, pinhole(), backend="torch").rgb[15, 20]
        front, back = (red, blue) if z_red < z_blue else (blue, red)
        assert centre[int(np.argmax(front))].item() > 0.9
        assert 0.0 < centre[int(np.argmax(back))].item() < 0.06  # seen through the front one
        assert centre[1].item() == 0.0  # no green anywhere, black background


def tiny_scene():
    """Four splats on an 8 x 8 image, SH degree 1, placed off every discontinuity."""
    means = [[-0.25, -0.2, 3.0], [0.3, 0.1, 3.5], [0.0, 0.35, 2.5], [-0.1, 0.05, 4.0]]
    log_scales = [[-0.6, -0.9, -0.7], [-0.8, -0.5, -1.0], [-1.0, -0.7, -0.6], [-0.5, -0.5, -0.5]]
    quats = [[0.9, 0.1, -0.2, 0.3], [0.7, -0.3, 0.2, 0.1], [1.0, 0.0, 0.4, -0.1],
             [0.5, 0.5, 0.1, 0.2]]
    sh_rest = torch.linspace(-0.2, 0.2, 36, dtype=F64).reshape(4, 3, 3)
    splats = splats_from(means, log_scales, [0.6, 0.5, 0.45, 0.7],
                         [[0.8, 0.3, 0.2], [0.2, 0.7, 0.4], [0.3, 0.3, 0.9], [0.6, 0.6, 0.1]],
                         quats=torch.tensor(quats, dtype=F64), sh_rest=sh_rest)
    return splats, pinhole(8, 8, f=12.0)


def pixel_alphas(splats, camera):
    """The unclamped o exp(-sigma) of every splat at every pixel centre inside its box."""
    viewmat, K = torch.as_tensor(camera.viewmat), torch.as_tensor(camera.K)
    o = splats.opacity_logits.sigmoid()
    p = project_gaussians(splats.means, splats.quats, splats.log_scales, o, viewmat, K,
                          camera.width, camera.height, camera.near, camera.far)
    ys, xs = torch.meshgrid(torch.arange(camera.height) + 0.5, torch.arange(camera.width) + 0.5,
                            indexing="ij")
    dx = p.means2d[:, 0, None, None] - xs
    dy = p.means2d[:, 1, None, None] - ys
    a, b, c = (p.conics[:, k, None, None] for k in range(3))
    raw = o[:, None, None] * torch.exp(-(0.5 * (a * dx**2 + c * dy**2) + b * dx * dy))
    in_box = (dx.abs() <= p.radii[:, 0, None, None]) & (dy.abs() <= p.radii[:, 1, None, None])
    return raw[in_box].detach()


def test_gradcheck_through_render_on_a_tiny_scene():
    splats, camera = tiny_scene()
    raw = pixel_alphas(splats, camera)
    # gradcheck's 1e-6 steps move any alpha by under 1e-7: no pair may cross 1/255 or 0.999
    assert (raw - 1 / 255).abs().min() > 1e-6 and raw.max() < 0.99
    out = render(splats, camera, backend="torch")
    assert out.alpha.mean() > 0.5 and out.alpha.max() < 0.99  # well covered, far from the stop
    colors = eval_sh_colors(splats.sh, splats.means - camera_centre(torch.eye(4, dtype=F64)), 1)
    assert colors.min() > 0.05  # off the clamp at 0
    fields = ("means", "quats", "log_scales", "opacity_logits", "sh")
    inputs = tuple(getattr(splats, f).clone().requires_grad_(True) for f in fields)

    def fn(*tensors):
        out = render(Splats(*tensors), camera, torch.tensor([0.3, 0.6, 0.9], dtype=F64), "torch")
        return out.rgb, out.alpha

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_a_list_of_cameras_renders_each_one():
    splats = make_synthetic_splats(300, seed=5, sh_degree=1)
    cams = [synthetic_camera(24, 18, azimuth_deg=a) for a in (0.0, 100.0)]
    batch = render(splats, cams, backend="torch")
    assert batch.rgb.shape == (2, 18, 24, 3) and batch.alpha.shape == (2, 18, 24)
    assert batch.radii.shape == (2, 300, 2) and batch.backend == "torch"
    for k, cam in enumerate(cams):
        single = render(splats, cam, backend="torch")
        assert torch.equal(batch.rgb[k], single.rgb) and torch.equal(batch.alpha[k], single.alpha)
    assert not torch.equal(batch.rgb[0], batch.rgb[1])


def test_a_lower_sh_degree_ignores_the_higher_coefficients():
    splats = make_synthetic_splats(200, seed=6, sh_degree=3, dtype=F64)
    cam = synthetic_camera(16, 16)
    dc_only = Splats(splats.means, splats.quats, splats.log_scales, splats.opacity_logits,
                     splats.sh[:, :1])
    assert torch.equal(render(splats, cam, backend="torch", sh_degree=0).rgb,
                       render(dc_only, cam, backend="torch").rgb)
    assert not torch.equal(render(splats, cam, backend="torch").rgb,
                           render(dc_only, cam, backend="torch").rgb)


def test_a_camera_that_sees_nothing_returns_the_background_with_alpha_zero():
    splats = make_synthetic_splats(100, seed=7, dtype=F64)
    for field in ("means", "sh"):
        getattr(splats, field).requires_grad_(True)
    cam = synthetic_camera(12, 10)
    away = cam.viewmat.copy()
    away[:3, :3] = np.diag([-1.0, 1.0, -1.0]) @ away[:3, :3]  # turned around: all behind it
    away[:3, 3] = np.diag([-1.0, 1.0, -1.0]) @ away[:3, 3]
    bg = torch.tensor([0.25, 0.5, 0.75], dtype=F64)
    out = render(splats, Camera(away, cam.K, 12, 10, cam.near, cam.far), bg, backend="torch")
    assert not out.radii.any()
    assert torch.equal(out.alpha, torch.zeros(10, 12, dtype=F64))
    assert torch.equal(out.rgb, bg.expand(10, 12, 3))
    out.rgb.sum().backward()
    assert not splats.means.grad.any() and not splats.sh.grad.any()


def good_splats(n=5):
    return make_synthetic_splats(n, seed=8, sh_degree=1, dtype=F64)


def with_field(splats, name, value):
    setattr(splats, name, value)
    return splats


@pytest.mark.parametrize("make, message", [
    (lambda: good_splats().to_numpy(),
     r"Splats.means is not a torch tensor: call splats.to_torch\(\)"),
    (lambda: with_field(good_splats(), "quats", torch.ones(5, 3, dtype=F64)),
     r"Splats.quats has shape \(5, 3\), expected \(5, 4\) for N=5"),
    (lambda: with_field(good_splats(), "opacity_logits", torch.ones(4, dtype=F64)),
     r"Splats.opacity_logits has shape \(4,\), expected \(5,\) for N=5"),
    (lambda: with_field(good_splats(), "sh", torch.ones(5, 5, 3, dtype=F64)),
     r"Splats.sh: 5 SH coefficients is no degree"),
    (lambda: with_field(good_splats(), "sh", torch.ones(5, 4, 3)),
     r"Splats.sh is torch.float32 on cpu, Splats.means is torch.float64 on cpu"),
    (lambda: with_field(good_splats(), "means", good_splats().means.long()),
     r"Splats.means is torch.int64: render needs float32 or float64"),
    (lambda: with_field(good_splats(), "log_scales",
                        good_splats().log_scales.index_fill(0, torch.tensor([2]), math.nan)),
     r"Splats.log_scales holds NaN or Inf \(first at splat 2\)"),
    (lambda: with_field(good_splats(), "means",
                        good_splats().means.index_fill(0, torch.tensor([4]), math.inf)),
     r"Splats.means holds NaN or Inf \(first at splat 4\)"),
    (lambda: with_field(good_splats(), "quats",
                        good_splats().quats.index_fill(0, torch.tensor([1]), 0.0)),
     r"Splats.quats has 1 zero-length quaternion\(s\) \(first at splat 1\)"),
])
def test_bad_splats_raise_a_render_error_naming_the_field(make, message):
    with pytest.raises(RenderError, match=message):
        render(make(), synthetic_camera(8, 8), backend="torch")


def test_bad_options_raise_a_render_error_saying_what_to_use():
    splats, cam = good_splats(), synthetic_camera(8, 8)
    cases = [
        (dict(sh_degree=2),
         r"sh_degree 2 is not available: the splats have SH degree 1, use 0 to 1"),
        (dict(sh_degree=-1), r"sh_degree -1 is not available"),
        (dict(backend="cuda"),
         r"unknown render backend 'cuda': use one of auto, torch, numba, gsplat"),
        (dict(backend="gsplat"), r"the gsplat backend needs the splats on a CUDA device"),
        (dict(background=torch.zeros(4)), r"background has shape \(4,\), expected \(3,\)"),
        (dict(background=[0.0, math.nan, 0.0]), r"background holds NaN or Inf"),
    ]
    for kwargs, message in cases:
        with pytest.raises(RenderError, match=message):
            render(splats, cam, **{"backend": "torch", **kwargs})
    with pytest.raises(RenderError, match="render needs at least one camera"):
        render(splats, [], backend="torch")
    with pytest.raises(RenderError, match=r"cameras rendered together must share one image size"):
        render(splats, [cam, synthetic_camera(8, 9)], backend="torch")
    with pytest.raises(RenderError, match="render takes engine Camera objects, got dict"):
        render(splats, [{"lens": 50}], backend="torch")


def test_auto_picks_gsplat_on_cuda_and_numba_or_torch_on_the_cpu(monkeypatch):
    assert resolve_backend("auto", torch.device("cuda")) == "gsplat"
    assert resolve_backend("auto", torch.device("mps")) == "torch"
    assert resolve_backend("auto", torch.device("cpu")) == "numba"
    monkeypatch.setitem(sys.modules, NUMBA_MODULE, None)  # as if it could not be imported
    assert resolve_backend("auto", torch.device("cpu")) == "torch"
    with pytest.raises(RenderError,
                       match="the numba backend is not available .*use backend='torch'"):
        render(good_splats(), synthetic_camera(8, 8), backend="numba")


def test_the_numba_backend_renders_what_the_torch_backend_renders():
    splats, cam = make_synthetic_splats(500, seed=9, sh_degree=2), synthetic_camera(32, 24)
    torch_out = render(splats, cam, backend="torch")
    numba_out = render(splats, cam, backend="numba")
    assert numba_out.backend == "numba" and torch_out.alpha.max() > 0.9
    assert_close(numba_out.rgb, torch_out.rgb, atol=1e-5, rtol=1e-5)
    assert_close(numba_out.alpha, torch_out.alpha, atol=1e-5, rtol=1e-5)


def test_importing_the_renderer_loads_neither_gsplat_nor_numba():
    code = ("import sys, spectralsplats_addon.engine.render as r; "
            "print(sorted({'gsplat', 'numba'} & {m.split('.')[0] for m in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
