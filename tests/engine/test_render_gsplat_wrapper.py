"""The gsplat backend's wrapping, checked on the CPU: gsplat.rasterization is replaced by a
stand-in that binds the call to the real function's signature, records the arguments and
answers with the torch backend's images in gsplat's layout. (tests/gpu runs the real one.)"""

from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from spectralsplats_addon.engine.conventions import Camera
from spectralsplats_addon.engine.errors import RenderError
from spectralsplats_addon.engine.render import render
from spectralsplats_addon.engine.render.gsplat_backend import render_gsplat
from spectralsplats_addon.lab.synthetic import make_synthetic_splats, synthetic_camera

F64 = torch.float64


class StandIn:
    """Records the call; returns the torch backend's render of the same splats."""

    def __init__(self, splats, cameras, packed_meta=False):
        import gsplat

        self.signature = inspect.signature(gsplat.rasterization)
        self.splats, self.cameras, self.packed_meta = splats, cameras, packed_meta
        self.kwargs = None

    def __call__(self, *args, **kwargs):
        self.signature.bind(*args, **kwargs)  # every name we pass exists in gsplat 1.5.3
        self.kwargs = kwargs
        out = render(self.splats, self.cameras, kwargs["backgrounds"][0].double(), backend="torch")
        meta = {"radii": out.radii, "means2d": out.means2d.float(), "depths": out.depths.float()}
        if self.packed_meta:
            cam, gid = torch.nonzero((out.radii > 0).all(-1), as_tuple=True)
            meta = {"camera_ids": cam, "gaussian_ids": gid, "radii": out.radii[cam, gid],
                    "means2d": out.means2d[cam, gid].float(),
                    "depths": out.depths[cam, gid].float()}
        return out.rgb.float(), out.alpha.float()[..., None], meta


@pytest.fixture
def scene(monkeypatch):
    import gsplat

    splats = make_synthetic_splats(200, seed=3, sh_degree=2, dtype=F64)
    cameras = [synthetic_camera(20, 16, azimuth_deg=a) for a in (10.0, 70.0)]
    stand_in = StandIn(splats, cameras)
    monkeypatch.setattr(gsplat, "rasterization", stand_in)
    return splats, cameras, stand_in


def test_arguments_follow_gsplats_conventions(scene):
    splats, cameras, stand_in = scene
    bg = torch.tensor([0.1, 0.2, 0.3], dtype=F64)
    render_gsplat(splats, cameras, bg, sh_degree=1)
    kw = stand_in.kwargs
    assert_close(kw["scales"], splats.log_scales.exp().float())
    assert_close(kw["opacities"], splats.opacity_logits.sigmoid().float())
    assert torch.equal(kw["quats"], splats.quats.float())
    assert torch.equal(kw["colors"], splats.sh.float())
    assert_close(kw["viewmats"], torch.tensor(np.stack([c.viewmat for c in cameras])).float())
    assert_close(kw["Ks"], torch.tensor(np.stack([c.K for c in cameras])).float())
    assert kw["backgrounds"].shape == (2, 3) and torch.equal(kw["backgrounds"][1], bg.float())
    assert (kw["width"], kw["height"], kw["sh_degree"]) == (20, 16, 1)
    assert (kw["near_plane"], kw["far_plane"]) == (cameras[0].near, cameras[0].far)
    options = (kw["eps2d"], kw["radius_clip"], kw["rasterize_mode"], kw["packed"])
    assert options == (0.3, 0.0, "classic", False)
    assert all(kw[k].dtype == torch.float32 for k in ("means", "quats", "scales", "colors"))


@pytest.mark.parametrize("packed", [False, True])
def test_outputs_come_back_per_camera_in_the_input_dtype(scene, packed):
    splats, cameras, stand_in = scene
    stand_in.packed_meta = packed
    rgb, alpha, radii, means2d, depths = render_gsplat(splats, cameras, torch.zeros(3, dtype=F64),
                                                       sh_degree=2, packed=packed)
    want = render(splats, cameras, backend="torch")
    assert rgb.dtype == alpha.dtype == means2d.dtype == F64 and radii.dtype == torch.int32
    assert rgb.shape == (2, 16, 20, 3) and alpha.shape == (2, 16, 20) and radii.shape == (2, 200, 2)
    assert torch.equal(radii, want.radii)
    assert_close(rgb, want.rgb, atol=1e-6, rtol=0)
    assert_close(alpha, want.alpha, atol=1e-6, rtol=0)
    assert_close(means2d, want.means2d, atol=1e-4, rtol=1e-6)
    assert_close(depths, want.depths, atol=1e-5, rtol=1e-6)


def test_cameras_with_different_planes_cannot_share_a_gsplat_batch(scene):
    splats, cameras, _ = scene
    other = Camera(cameras[1].viewmat, cameras[1].K, 20, 16, near=0.5, far=cameras[1].far)
    with pytest.raises(RenderError, match="one near and far plane"):
        render_gsplat(splats, [cameras[0], other], torch.zeros(3, dtype=F64), sh_degree=0)


def test_a_missing_gsplat_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gsplat", None)
    splats = make_synthetic_splats(5, seed=0)
    with pytest.raises(RenderError, match=r"pip install 'spectralsplats\[gsplat\]'"):
        render_gsplat(splats, [synthetic_camera(8, 8)], torch.zeros(3), sh_degree=0)
