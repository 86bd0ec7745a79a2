"""The compiled one-frame skinning against the torch reference (engine/deform/skinning.py):
forward, gradients in rotations and translations, dtypes, errors, the real donut's rig."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.deform.skinning import skin_positions, skin_quaternions
from spectralsplats_addon.engine.deform.skinning_numba import skin_splats
from spectralsplats_addon.engine.errors import SkinningError
from spectralsplats_addon.engine.rig import build_rig
from spectralsplats_addon.lab.examples import known_motion

F64 = torch.float64


def random_rig(n=300, points=16, neighbours=4, seed=0, dtype=F64):
    """Rest splats, a rig on them and one frame of random motion: rotations of random
    norms, about a third with w < 0; translations ~ N(0, 0.3)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n, 3))
    rig = build_rig(means, points, neighbours, seed=seed)
    assert rig.num_control_points == points, "build_rig keeps N // 8 control points at most"
    weights = rig.weights.astype(np.float64)
    weights /= weights.sum(axis=1, keepdims=True)
    rotations = rng.normal(size=(points, 4)) * rng.uniform(0.5, 2.0, size=(points, 1))
    rotations[:, 0] = np.abs(rotations[:, 0]) * np.where(np.arange(points) % 3 == 0, -1, 1)
    t = lambda a: torch.as_tensor(a, dtype=dtype)
    return dict(means=t(means), quats=t(rng.normal(size=(n, 4))),
                control_points=t(rig.control_points), rotations=t(rotations),
                translations=t(0.3 * rng.normal(size=(points, 3))),
                indices=torch.as_tensor(rig.indices, dtype=torch.long), weights=t(weights))


def reference(means, quats, control_points, rotations, translations, indices, weights):
    return (skin_positions(means, control_points, rotations[None], translations[None], indices,
                           weights)[0],
            skin_quaternions(quats, rotations[None], indices, weights)[0])


def motion_grads(skin, rig, upstream):
    """dL/d(rotations, translations) for L = <g_x, x'> + <g_q, q'>."""
    rot = rig["rotations"].clone().requires_grad_()
    trans = rig["translations"].clone().requires_grad_()
    means, quats = skin(**{**rig, "rotations": rot, "translations": trans})
    loss = (means * upstream[0]).sum() + (quats * upstream[1]).sum()
    return torch.autograd.grad(loss, (rot, trans))


def random_upstream(rig, seed=1):
    g = torch.Generator().manual_seed(seed)
    n = rig["means"].shape[0]
    return (torch.randn(n, 3, generator=g, dtype=F64), torch.randn(n, 4, generator=g, dtype=F64))


def test_random_rig_matches_the_reference():
    rig = random_rig()
    assert (rig["rotations"][:, 0] < 0).any() and (rig["rotations"][:, 0] > 0).any()
    means, quats = skin_splats(**rig)
    ref_means, ref_quats = reference(**rig)
    torch.testing.assert_close(means, ref_means, atol=1e-12, rtol=0)
    torch.testing.assert_close(quats, ref_quats, atol=1e-12, rtol=0)


def test_gradients_in_rotations_and_translations_match_the_reference():
    rig = random_rig()
    upstream = random_upstream(rig)
    for got, want in zip(motion_grads(skin_splats, rig, upstream),
                         motion_grads(reference, rig, upstream)):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9 * want.abs().max().item())


def test_gradcheck():
    rig = random_rig(n=32, points=4, neighbours=3, seed=3)
    const = {k: v for k, v in rig.items() if k not in ("rotations", "translations")}
    rot = rig["rotations"].clone().requires_grad_()
    trans = rig["translations"].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda r, t: skin_splats(rotations=r, translations=t, **const),
                                    (rot, trans), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_the_clamped_blend_differentiates_like_the_reference():
    """q and -q with w = 0 are not flipped, so equal weights blend them to m = 0: the clamp
    on |m| sets the gradient (dL/du / 1e-12), in both."""
    rig = random_rig(n=40, points=4, neighbours=2, seed=2)
    rig["rotations"][0] = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=F64)
    rig["rotations"][1] = torch.tensor([0.0, -1.0, 0.0, 0.0], dtype=F64)
    rig["indices"][0] = torch.tensor([0, 1])
    rig["weights"][0] = torch.tensor([0.5, 0.5], dtype=F64)
    quats = skin_splats(**rig)[1]
    torch.testing.assert_close(quats[0], torch.zeros(4, dtype=F64), atol=0, rtol=0)
    upstream = random_upstream(rig, seed=5)
    got = motion_grads(skin_splats, rig, upstream)
    want = motion_grads(reference, rig, upstream)
    assert want[0][:2].abs().max() > 1e11  # the 1 / 1e-12 of the clamp reached r_0 and r_1
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-9)


def test_rest_pose_is_the_identity():
    rig = random_rig()
    rig["rotations"] = torch.zeros_like(rig["rotations"])
    rig["rotations"][:, 0] = 1
    rig["translations"] = torch.zeros_like(rig["translations"])
    means, quats = skin_splats(**rig)
    torch.testing.assert_close(means, rig["means"], atol=1e-12, rtol=0)
    torch.testing.assert_close(quats, rig["quats"], atol=1e-12, rtol=0)


def test_float32_in_gives_float32_out_close_to_the_reference():
    rig32 = random_rig(dtype=torch.float32)
    rig64 = {k: v.to(F64) if v.is_floating_point() else v for k, v in rig32.items()}
    means, quats = skin_splats(**rig32)
    assert means.dtype == quats.dtype == torch.float32
    ref_means, ref_quats = reference(**rig64)
    torch.testing.assert_close(means, ref_means.float(), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(quats, ref_quats.float(), atol=1e-6, rtol=1e-6)
    upstream = random_upstream(rig32)
    got = motion_grads(skin_splats, rig32, tuple(u.float() for u in upstream))
    want = motion_grads(reference, rig64, upstream)
    for g, w in zip(got, want):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g, w.float(), rtol=1e-5, atol=1e-5 * w.abs().max().item())


def test_int32_indices_and_repeated_runs_give_the_same_bits():
    rig = random_rig()
    upstream = random_upstream(rig)
    first = skin_splats(**rig) + motion_grads(skin_splats, rig, upstream)
    rig32 = {**rig, "indices": rig["indices"].int()}
    second = skin_splats(**rig32) + motion_grads(skin_splats, rig32, upstream)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("name", ["means", "quats", "control_points", "weights"])
def test_a_rig_constant_that_requires_grad_is_refused(name):
    rig = random_rig(n=32, points=4)
    rig[name] = rig[name].clone().requires_grad_()
    with pytest.raises(ValueError, match=f"only, but {name} requires grad: use "
                       r"skinning.skin_positions and skinning.skin_quaternions"):
        skin_splats(**rig)


def test_bad_inputs_are_refused_with_what_to_do():
    rig = random_rig(n=32, points=4)
    with pytest.raises(SkinningError, match=r"rotations has shape \[1, 4, 4\], expected \[P, 4\] "
                       r"\(N = 32, P = 4, K = 4\)"):
        skin_splats(**{**rig, "rotations": rig["rotations"][None]})
    bad = rig["indices"].clone()
    bad[3, 1] = 4
    with pytest.raises(SkinningError, match=r"indices run from 0 to 4 but there are 4 control "
                       r"points; indices must lie in \[0, 3\]"):
        skin_splats(**{**rig, "indices": bad})
    with pytest.raises(SkinningError, match="rotations is torch.float32 but means is "
                       "torch.float64; pass the splats and the motion in one dtype"):
        skin_splats(**{**rig, "rotations": rig["rotations"].float()})


@pytest.fixture(scope="module")
def donut_frame():
    """The real donut (45,624 splats), its 512-point rig and frame 1 of its known motion."""
    example = known_motion("donut", 2, 64)
    s = example.splats
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=F64)
    return dict(means=t(s.means), quats=t(s.quats), control_points=t(example.rig.control_points),
                rotations=t(example.rotations[1]), translations=t(example.translations[1]),
                indices=torch.as_tensor(example.rig.indices), weights=t(example.rig.weights))


def test_the_donuts_rig_matches_the_reference(donut_frame):
    assert donut_frame["means"].shape == (45624, 3) and donut_frame["rotations"].shape == (512, 4)
    means, quats = skin_splats(**donut_frame)
    ref_means, ref_quats = reference(**donut_frame)
    assert (ref_means - donut_frame["means"]).abs().max() > 1e-2  # frame 1 does move
    torch.testing.assert_close(means, ref_means, atol=1e-12, rtol=0)
    torch.testing.assert_close(quats, ref_quats, atol=1e-12, rtol=0)
    upstream = random_upstream(donut_frame)
    for got, want in zip(motion_grads(skin_splats, donut_frame, upstream),
                         motion_grads(reference, donut_frame, upstream)):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9 * want.abs().max().item())
