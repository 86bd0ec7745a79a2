"""The compiled EWA projection against the PyTorch reference ``project_gaussians``: every
output and every culling rule in float64, the hand-written gradients, gradcheck, float32,
bad input, and renders of the real donut through render(..., backend="numba")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.errors import RenderError
from spectralsplats_addon.engine.render import api
from spectralsplats_addon.engine.render import projection_numba
from spectralsplats_addon.engine.render.projection import (
    ALPHA_THRESHOLD, FOV_CLAMP_MARGIN, Projection, project_gaussians)
from spectralsplats_addon.engine.render.projection_numba import project_gaussians_numba
from spectralsplats_addon.engine.splats import Splats

F64 = torch.float64
W, H = 64, 48
NEAR, FAR = 0.2, 6.0
K = torch.tensor([[70.0, 0.0, 30.0], [0.0, 75.0, 26.0], [0.0, 0.0, 1.0]], dtype=F64)
FLOAT_OUTPUTS = ("means2d", "conics", "depths", "means_cam")
INPUTS = ("means", "quats", "log_scales")


def viewmat(angle=0.3, shift=(0.1, -0.2, 1.5)):
    """A rotation about the y axis (world y is camera y) and a shift."""
    c, s = math.cos(angle), math.sin(angle)
    view = torch.eye(4, dtype=F64)
    view[:3, :3] = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=F64)
    view[:3, 3] = torch.tensor(shift, dtype=F64)
    return view


def clamp_limits(axis):
    """(lo, hi): x / z (axis 0) or y / z (axis 1) outside [-lo, hi] is clamped in J."""
    f, c, size = K[axis, axis].item(), K[axis, 2].item(), (W, H)[axis]
    margin = FOV_CLAMP_MARGIN * 0.5 * size / f
    return c / f + margin, (size - c) / f + margin


def is_clamped(ratio, axis):
    """ratio [N] = x / z or y / z -> [N] bool, where the Jacobian's clamp acts."""
    lo, hi = clamp_limits(axis)
    return (ratio < -lo) | (ratio > hi)


def scene(seed=0, view=None):
    """Splats of every kind, placed in camera space and moved to the world: random ones;
    behind near; beyond far; far off screen; below and exactly at the 1/255 opacity
    threshold; wide splats whose centre lies where x / z or y / z is clamped but whose box
    reaches the image; needles along y (det < 0 once eps2d is negative). Quaternions of
    random length."""
    view = viewmat() if view is None else view
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.rand(*shape, generator=g, dtype=F64)  # noqa: E731
    groups = []

    def add(n, x_over_z, y_over_z, z, log_scale, opacity):
        cam = torch.stack([x_over_z * z, y_over_z * z, z], dim=-1)
        groups.append((cam, log_scale, opacity, n))

    n = 300
    z = rand(n) * 7.0 - 1.0
    add(n, rand(n) * 1.6 - 0.8, rand(n) * 1.4 - 0.7, z, rand(n, 3) * 3.0 - 3.5, rand(n))
    add(20, rand(20) * 0.4 - 0.2, rand(20) * 0.4 - 0.2, NEAR - rand(20) * 1.5,
        rand(20, 3) - 2.5, 0.5 + 0.5 * rand(20))
    add(20, rand(20) * 0.4 - 0.2, rand(20) * 0.4 - 0.2, FAR + 0.01 + rand(20),
        rand(20, 3) - 2.5, 0.5 + 0.5 * rand(20))
    side = torch.where(rand(20) < 0.5, -1.0, 1.0).to(F64)
    add(20, side * (3.0 + rand(20)), rand(20) * 0.4 - 0.2, 1.0 + rand(20) * 3.0,
        rand(20, 3) - 4.5, 0.5 + 0.5 * rand(20))
    faint = torch.cat([rand(8) * ALPHA_THRESHOLD, torch.full((4,), ALPHA_THRESHOLD, dtype=F64)])
    add(12, rand(12) * 0.4 - 0.2, rand(12) * 0.4 - 0.2, 1.0 + rand(12) * 3.0,
        rand(12, 3) - 2.5, faint)
    lim_x, lim_y = max(clamp_limits(0)), max(clamp_limits(1))
    side = torch.where(rand(40) < 0.5, -1.0, 1.0).to(F64)
    x_over_z = torch.cat([side[:20] * lim_x * (1.05 + 0.4 * rand(20)), rand(20) * 0.6 - 0.3])
    y_over_z = torch.cat([rand(20) * 0.6 - 0.3, side[20:] * lim_y * (1.05 + 0.4 * rand(20))])
    add(40, x_over_z, y_over_z, 1.5 + rand(40) * 2.0, rand(40, 3) * 0.6 - 1.2,
        0.5 + 0.5 * rand(40))
    needle = torch.tensor([-7.0, 0.0, -7.0], dtype=F64).repeat(10, 1)
    add(10, rand(10) * 0.4 - 0.2, rand(10) * 0.4 - 0.2, 1.5 + rand(10), needle,
        torch.full((10,), 0.9, dtype=F64))

    cam = torch.cat([c for c, *_ in groups])
    total = cam.shape[0]
    rot, t = view[:3, :3], view[:3, 3]
    means = (cam - t) @ rot  # W^T (p - t)
    quats = torch.randn(total, 4, generator=g, dtype=F64) * (0.4 + 2.0 * rand(total, 1))
    quats[-10:] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=F64) * 1.7  # needles stay along y
    log_scales = torch.cat([s for _, s, _, _ in groups])
    opacities = torch.cat([o for *_, o, _ in groups])
    return dict(means=means, quats=quats, log_scales=log_scales, opacities=opacities,
                viewmat=view, K=K.clone())


def run(project, splats, seed=1, eps2d=0.3, radius_clip=0.0):
    """Projection and the gradients of a random linear function of the four float outputs."""
    leaves = {k: splats[k].detach().clone().requires_grad_(True) for k in INPUTS}
    out = project(leaves["means"], leaves["quats"], leaves["log_scales"], splats["opacities"],
                  splats["viewmat"], splats["K"], W, H, near=NEAR, far=FAR, eps2d=eps2d,
                  radius_clip=radius_clip)
    g = torch.Generator().manual_seed(seed)
    weights = {f: torch.randn(getattr(out, f).shape, generator=g, dtype=F64)
               for f in FLOAT_OUTPUTS}
    sum((getattr(out, f) * weights[f].to(getattr(out, f).dtype)).sum()
        for f in FLOAT_OUTPUTS).backward()
    return out, {k: leaves[k].grad for k in INPUTS}, weights


def assert_matches(actual, expected, rel, what):
    """Within rel of each value, or of the largest value where values are small."""
    scale = max(expected.abs().max().item(), 1.0) if expected.numel() else 1.0
    torch.testing.assert_close(actual, expected, rtol=rel, atol=rel * scale,
                               msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("eps2d, radius_clip", [(0.3, 0.0), (0.3, 2.5), (-0.3, 0.0)])
def test_every_output_and_gradient_matches_the_reference_in_float64(eps2d, radius_clip):
    splats = scene(seed=3)
    out, grads, _ = run(project_gaussians_numba, splats, eps2d=eps2d, radius_clip=radius_clip)
    ref, ref_grads, _ = run(project_gaussians, splats, eps2d=eps2d, radius_clip=radius_clip)
    assert isinstance(out, Projection) and out.radii.dtype == torch.int32
    assert torch.equal(out.radii, ref.radii)
    for f in FLOAT_OUTPUTS:
        assert getattr(out, f).dtype == F64
        assert_matches(getattr(out, f), getattr(ref, f), 1e-10, f)
    for k in INPUTS:
        assert_matches(grads[k], ref_grads[k], 1e-8, f"d {k}")
    visible = ref.radii.abs().sum(-1) > 0
    assert 100 < int(visible.sum()) < len(visible) - 100  # both kinds, in numbers


def test_each_culling_rule_and_the_clamp_is_exercised_and_reproduced():
    """The scene's groups do what they are there for, in the reference and in the kernel."""
    splats = scene(seed=4)
    ref = run(project_gaussians, splats)[0]
    out = run(project_gaussians_numba, splats)[0]
    x, y, z = ref.means_cam.unbind(-1)
    visible = ref.radii.abs().sum(-1) > 0
    assert torch.equal(out.radii.abs().sum(-1) > 0, visible)
    assert not visible[z < NEAR].any() and (z < NEAR).sum() >= 20
    assert not visible[z > FAR].any() and (z > FAR).sum() >= 20
    o = splats["opacities"]
    assert not visible[o <= ALPHA_THRESHOLD].any() and (o == ALPHA_THRESHOLD).sum() == 4
    off = (x / z).abs() > 2.9
    assert off.sum() >= 20 and not visible[off].any()
    clamped_x = visible & is_clamped(x / z, 0)
    clamped_y = visible & is_clamped(y / z, 1)
    assert clamped_x.sum() >= 10 and clamped_y.sum() >= 10
    for f in ("means2d", "conics"):
        culled = getattr(out, f)[~visible]
        assert torch.equal(culled, torch.zeros_like(culled)), f
    assert torch.equal(out.depths[~visible], torch.zeros(int((~visible).sum()), dtype=F64))
    # The needles (along camera y, nothing along x) lose x variance to eps2d = -0.3: det < 0.
    needles = run(project_gaussians, splats, eps2d=-0.3)[0].radii[-10:]
    assert torch.equal(needles, torch.zeros_like(needles))
    assert (ref.radii[-10:, 1] > 5).all()  # with eps2d = 0.3 they are tall and visible
    assert torch.equal(run(project_gaussians_numba, splats, eps2d=-0.3)[0].radii[-10:], needles)


def test_culled_splats_pass_back_only_the_camera_space_gradient():
    """means_cam = W mu + t is not zeroed for culled splats: their means get W^T v_cam,
    their quats and log_scales exactly zero (as torch.where gives the reference)."""
    splats = scene(seed=5)
    out, grads, weights = run(project_gaussians_numba, splats)
    culled = out.radii.abs().sum(-1) == 0
    assert culled.sum() > 100
    rot = splats["viewmat"][:3, :3]
    assert_matches(grads["means"][culled], weights["means_cam"][culled] @ rot, 1e-13, "d means")
    assert torch.equal(grads["quats"][culled], torch.zeros(int(culled.sum()), 4, dtype=F64))
    assert torch.equal(grads["log_scales"][culled], torch.zeros(int(culled.sum()), 3, dtype=F64))
    assert (grads["quats"][~culled].abs().sum(-1) > 0).all()


def test_gradcheck_on_a_few_splats_including_clamped_and_culled_ones():
    """Two ordinary splats, one clamped in x (box on screen), one behind the camera, one off
    screen: all kept away from every kink by more than gradcheck's step."""
    view = viewmat()
    lim = clamp_limits(0)[1]
    cam = torch.tensor([[0.1, -0.2, 2.0], [-0.3, 0.15, 3.0], [1.3 * lim * 2.0, 0.1, 2.0],
                        [0.1, 0.1, -1.0], [8.0, 0.0, 2.0]], dtype=F64)
    means = (cam - view[:3, 3]) @ view[:3, :3]
    quats = torch.tensor([[0.9, 0.1, -0.2, 0.3], [0.7, -0.3, 0.2, 0.1], [1.2, 0.3, 0.4, -0.1],
                          [0.5, 0.5, 0.1, 0.2], [1.0, 0.2, 0.0, 0.0]], dtype=F64)
    log_scales = torch.tensor([[-1.6, -1.9, -1.7], [-1.8, -1.5, -2.0], [-0.9, -0.7, -1.0],
                               [-1.5, -1.5, -1.5], [-3.0, -3.0, -3.0]], dtype=F64)
    opacities = torch.full((5,), 0.8, dtype=F64)
    radii = project_gaussians(means, quats, log_scales, opacities, view, K, W, H,
                              near=NEAR, far=FAR).radii
    assert (radii[:3] > 0).all() and (radii[3:] == 0).all()

    def fn(m, q, s):
        out = project_gaussians_numba(m, q, s, opacities, view, K, W, H, near=NEAR, far=FAR)
        return out.means2d, out.conics, out.depths, out.means_cam

    args = [a.clone().requires_grad_(True) for a in (means, quats, log_scales)]
    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_float32_in_float32_out_within_float32_rounding_of_the_float64_result():
    splats64 = scene(seed=6)
    splats32 = {k: v.float() for k, v in splats64.items()}
    out, grads, _ = run(project_gaussians_numba, splats32)
    ref, ref_grads, _ = run(project_gaussians, {k: v.double() for k, v in splats32.items()})
    for f in FLOAT_OUTPUTS:
        assert getattr(out, f).dtype == torch.float32
        assert_matches(getattr(out, f).double(), getattr(ref, f), 1e-6, f)
    assert torch.equal(out.radii, ref.radii)  # float64 inside, from the same float32 values
    for k in INPUTS:
        assert grads[k].dtype == torch.float32
        assert_matches(grads[k].double(), ref_grads[k], 1e-5, f"d {k}")


def test_a_zero_length_quaternion_is_culled_as_in_the_reference_not_an_error():
    splats = scene(seed=8)
    visible = (run(project_gaussians, splats)[0].radii > 0).all(-1).nonzero()[:5, 0]
    splats["quats"][visible] = 0.0
    out = run(project_gaussians_numba, splats)[0]
    ref = run(project_gaussians, splats)[0]
    assert len(visible) == 5 and not ref.radii[visible].any()
    assert torch.equal(out.radii, ref.radii)
    for f in FLOAT_OUTPUTS:
        assert_matches(getattr(out, f), getattr(ref, f), 1e-10, f)


def test_no_gradient_reaches_opacities_viewmat_or_k():
    splats = scene(seed=7)
    extra = {k: splats[k].clone().requires_grad_(True) for k in ("opacities", "viewmat", "K")}
    means = splats["means"].clone().requires_grad_(True)
    out = project_gaussians_numba(means, splats["quats"], splats["log_scales"], extra["opacities"],
                                  extra["viewmat"], extra["K"], W, H, near=NEAR, far=FAR)
    (out.means2d.sum() + out.conics.sum() + out.means_cam.sum()).backward()
    assert means.grad is not None and means.grad.abs().sum() > 0
    assert all(t.grad is None for t in extra.values())


@pytest.mark.parametrize("change, message", [
    (dict(quats=torch.zeros(4, 3)),
     "project_gaussians_numba: quats has shape [4, 3], expected [N, 4] (N = 4)"),
    (dict(K=torch.eye(4)), "project_gaussians_numba: K has shape [4, 4], expected [3, 3] (N = 4)"),
    (dict(opacities=torch.zeros(4, device="meta")),
     "project_gaussians_numba runs on the CPU but opacities is on meta: move the inputs with "
     ".cpu(), or use projection.project_gaussians"),
    (dict(means=np.zeros((4, 3))), "project_gaussians_numba: means must be a torch.Tensor, "
                                   "got ndarray"),
])
def test_bad_input_is_a_render_error_that_names_the_problem(change, message):
    args = dict(means=torch.zeros(4, 3), quats=torch.ones(4, 4), log_scales=torch.zeros(4, 3),
                opacities=torch.ones(4), viewmat=torch.eye(4), K=torch.eye(3))
    args.update(change)
    with pytest.raises(RenderError) as caught:
        project_gaussians_numba(**args, width=8, height=8)
    assert str(caught.value) == message


@pytest.fixture(scope="module")
def donut():
    """The real donut (45,624 splats) and the 64 x 64 training camera of its example."""
    from spectralsplats_addon.lab.examples import known_motion

    example = known_motion("donut", 1, 64)
    return example.splats.to_torch(dtype=F64), example.train_camera


def test_the_numba_backend_renders_the_donut_as_the_torch_backend_does(donut):
    """Forward and the gradients of means, quats, log_scales of a random linear function of
    rgb and alpha, with the rasterizer tests' tolerances (float64)."""
    splats, camera = donut
    results = {}
    for backend in ("numba", "torch"):
        leaves = {k: getattr(splats, k).clone().requires_grad_(True) for k in INPUTS}
        moved = Splats(leaves["means"], leaves["quats"], leaves["log_scales"],
                       splats.opacity_logits, splats.sh)
        out = api.render(moved, camera, background=(0.2, 0.3, 0.4), backend=backend)
        g = torch.Generator().manual_seed(2)
        w_rgb = torch.randn(out.rgb.shape, generator=g, dtype=F64)
        w_alpha = torch.randn(out.alpha.shape, generator=g, dtype=F64)
        ((out.rgb * w_rgb).sum() + (out.alpha * w_alpha).sum()).backward()
        results[backend] = out, {k: leaves[k].grad for k in INPUTS}
    (out, grads), (ref, ref_grads) = results["numba"], results["torch"]
    assert out.backend == "numba" and ref.alpha.max() > 0.99 and (ref.alpha < 1e-3).any()
    assert torch.equal(out.radii, ref.radii)
    assert_matches(out.rgb, ref.rgb, 1e-10, "rgb")
    assert_matches(out.alpha, ref.alpha, 1e-10, "alpha")
    for k in INPUTS:
        assert_matches(grads[k], ref_grads[k], 1e-8, f"d {k}")


def test_render_uses_the_compiled_projection_only_for_the_numba_backend(donut, monkeypatch):
    splats, camera = donut
    calls = []

    def spy(*args, **kwargs):
        calls.append(args[0].shape[0])
        return project_gaussians_numba(*args, **kwargs)

    monkeypatch.setattr(projection_numba, "project_gaussians_numba", spy)
    small = splats.subset(np.arange(0, splats.means.shape[0], 50))
    api.render(small, [camera, camera], backend="numba")
    assert calls == [len(small.means)] * 2
    api.render(small, camera, backend="torch")
    assert len(calls) == 2
