"""The gsplat backend against the torch backend on a CUDA device: images and gradients, on
the real donut and on synthetic scenes (skipped where no CUDA device is present).

Tolerances: gsplat works in float32 with fast exp; the reference is our torch backend in
float64 on the same device. A splat whose alpha sits within float32 rounding of 1/255 (or a
pixel at the 1e-4 transmittance stop) may be taken by one and skipped by the other, which
moves that pixel by at most about 1/255: so the largest pixel difference is held to 5e-3 and
the mean to 2e-5. Gradients are compared as whole fields: relative L2 error under 2e-2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from spectralsplats_addon.engine.io import read_splats
from spectralsplats_addon.engine.render import render
from spectralsplats_addon.engine.splats import Splats
from spectralsplats_addon.lab.synthetic import make_synthetic_splats, synthetic_camera

pytestmark = pytest.mark.gpu

DONUT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "donut.ply"
FIELDS = ("means", "quats", "log_scales", "opacity_logits", "sh")


def donut_scene():
    splats = read_splats(DONUT)
    centre = splats.means.mean(0)
    camera = synthetic_camera(192, 160, extent=0.25, azimuth_deg=40.0, elevation_deg=35.0)
    camera.viewmat[:3, 3] -= camera.viewmat[:3, :3] @ centre  # look at the donut's centre
    return splats.to_torch(), camera


def synthetic_scene(sh_degree):
    return make_synthetic_splats(3000, seed=21, sh_degree=sh_degree), synthetic_camera(128, 96)


def image_and_grads(splats: Splats, camera, backend, dtype, weights):
    fields = [getattr(splats, f).to(device="cuda", dtype=dtype).detach().requires_grad_(True)
              for f in FIELDS]
    bg = torch.tensor([0.1, 0.4, 0.8], device="cuda", dtype=dtype)
    out = render(Splats(*fields), camera, bg, backend=backend)
    weights = weights.to(dtype)
    loss = (out.rgb * weights[..., :3]).sum() + (out.alpha * weights[..., 3]).sum()
    loss.backward()
    return out, [f.grad.double() for f in fields]


def compare_backends(splats, camera):
    weights = torch.rand(camera.height, camera.width, 4, device="cuda",
                         generator=torch.Generator("cuda").manual_seed(0), dtype=torch.float64)
    ref, ref_grads = image_and_grads(splats, camera, "torch", torch.float64, weights)
    got, got_grads = image_and_grads(splats, camera, "gsplat", torch.float32, weights)
    assert got.backend == "gsplat" and ref.alpha.max() > 0.9
    for name, a, b in (("rgb", got.rgb, ref.rgb), ("alpha", got.alpha, ref.alpha)):
        diff = (a.double() - b).abs()
        assert diff.max() < 5e-3 and diff.mean() < 2e-5, (name, diff.max().item(),
                                                          diff.mean().item())
    visible = (ref.radii > 0).all(-1) & (got.radii > 0).all(-1)
    # float32 vs float64 may flip a splat whose box edge sits on the image border
    flipped = ((ref.radii > 0).all(-1) != (got.radii > 0).all(-1)).sum()
    assert flipped <= max(2, visible.sum() // 1000)
    assert (got.radii - ref.radii)[visible].abs().max() <= 1  # ceil() of float32 vs float64
    torch.testing.assert_close(got.means2d.double()[visible], ref.means2d[visible],
                               atol=1e-3, rtol=1e-5)
    for name, a, b in zip(FIELDS, got_grads, ref_grads):
        rel = (a - b).norm() / b.norm()
        assert b.norm() > 0 and rel < 2e-2, (name, rel.item())


def test_gsplat_matches_the_torch_backend_on_the_real_donut():
    compare_backends(*donut_scene())


@pytest.mark.parametrize("sh_degree", [0, 3])
def test_gsplat_matches_the_torch_backend_on_synthetic_scenes(sh_degree):
    compare_backends(*synthetic_scene(sh_degree))


def test_auto_picks_gsplat_on_cuda_and_keeps_the_input_dtype():
    splats, camera = synthetic_scene(1)
    out = render(splats.to_torch(device="cuda", dtype=torch.float64), camera)
    assert out.backend == "gsplat" and out.rgb.dtype == torch.float64
    assert out.rgb.shape == (96, 128, 3) and out.alpha.shape == (96, 128)


def test_a_batch_of_cameras_matches_single_renders():
    splats, _ = synthetic_scene(1)
    splats = splats.to_torch(device="cuda")
    cams = [synthetic_camera(64, 48, azimuth_deg=a) for a in (0.0, 90.0)]
    batch = render(splats, cams, backend="gsplat")
    assert batch.rgb.shape == (2, 48, 64, 3) and batch.radii.shape == (2, len(splats), 2)
    for k, cam in enumerate(cams):
        single = render(splats, cam, backend="gsplat")
        torch.testing.assert_close(batch.rgb[k], single.rgb, atol=1e-6, rtol=0)
        torch.testing.assert_close(batch.alpha[k], single.alpha, atol=1e-6, rtol=0)


def test_a_camera_that_sees_nothing_gives_the_background():
    splats, camera = synthetic_scene(0)
    turn = torch.diag(torch.tensor([-1.0, 1.0, -1.0])).numpy()  # half a turn about the y axis:
    camera.viewmat[:3] = turn @ camera.viewmat[:3]  # everything is now behind the camera
    bg = torch.tensor([0.2, 0.3, 0.4], device="cuda")
    out = render(splats.to_torch(device="cuda"), camera, bg, backend="gsplat")
    assert not out.alpha.any()
    torch.testing.assert_close(out.rgb, bg.expand(96, 128, 3), atol=0, rtol=0)
