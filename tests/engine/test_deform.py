"""Deformation models (rigid, direct, mlp): rest pose, global translation and rigid motion
through skinning; the TimeNet's encoding and layout; ARAP and temporal smoothness."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.deform import MODEL_NAMES, make_model
from spectralsplats_addon.engine.deform.mlp import TimeNet, positional_encoding
from spectralsplats_addon.engine.deform.pose import RigidPose, apply_rigid
from spectralsplats_addon.engine.geometry import axis_angle_to_matrix
from spectralsplats_addon.engine.deform.regularisers import (arap_loss, kabsch_rotations,
                                                              neighbour_graph,
                                                              temporal_smoothness)
from spectralsplats_addon.engine.deform.skinning import skin_positions, skin_quaternions
from spectralsplats_addon.engine.errors import ConfigError
from spectralsplats_addon.engine.rig import build_rig
from spectralsplats_addon.engine.splats import Splats

FRAMES = 3
SHIFT = np.array([0.3, -0.2, 0.15])


@pytest.fixture(scope="module")
def asset():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(200, 3)).astype(np.float32)
    rig = build_rig(means, 16, 4, seed=0)
    quats = torch.nn.functional.normalize(torch.as_tensor(rng.normal(size=(200, 4)),
                                                          dtype=torch.float32), dim=-1)
    return torch.as_tensor(means), quats, rig


def skinned(asset, rotations, translations):
    means, quats, rig = asset
    cp = torch.as_tensor(rig.control_points)
    idx, w = torch.as_tensor(rig.indices), torch.as_tensor(rig.weights)
    return (skin_positions(means, cp, rotations, translations, idx, w),
            skin_quaternions(quats, rotations, idx, w))


def set_global_translation(model, shift):
    """Writes the translation ``shift`` [3] into the model's own parameters."""
    tau = torch.as_tensor(shift / model.size, dtype=torch.float32)
    with torch.no_grad():
        if model.name == "mlp":
            model.net.translation_head.bias.copy_(tau)
        else:
            model.tau.copy_(tau.expand_as(model.tau))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_starts_at_the_rest_pose_exactly(asset, name):
    model = make_model(name, asset[2], FRAMES)
    rot, trans = model(torch.arange(FRAMES))
    assert rot.shape == (FRAMES, 16, 4) and trans.shape == (FRAMES, 16, 3)
    means, quats = skinned(asset, rot, trans)
    torch.testing.assert_close(means, asset[0].expand(FRAMES, -1, -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(quats, asset[1].expand(FRAMES, -1, -1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_represents_a_global_translation_exactly(asset, name):
    model = make_model(name, asset[2], FRAMES)
    set_global_translation(model, SHIFT)
    means, quats = skinned(asset, *model(torch.arange(FRAMES)))
    expected = asset[0] + torch.as_tensor(SHIFT, dtype=torch.float32)
    torch.testing.assert_close(means, expected.expand(FRAMES, -1, -1), atol=1e-5, rtol=0)
    torch.testing.assert_close(quats, asset[1].expand(FRAMES, -1, -1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_rigid_start_pose_is_a_rigid_motion_about_the_centre(asset, name):
    """init = (v, T) about c: every model's frames give x' = R (x - c) + c + T, as
    engine/deform/pose.apply_rigid moves the splats, and the rigid model's object matrix agrees."""
    means, quats, rig = asset
    pose = RigidPose(np.array([0.2, -0.4, 0.3]), SHIFT)
    centre = torch.tensor([0.1, 0.2, -0.1])
    model = make_model(name, rig, FRAMES, centre=centre, size=2.0, init=pose)
    out_means, out_quats = skinned(asset, *model(torch.arange(FRAMES)))
    splats = Splats(means, quats, torch.zeros(200, 3), torch.zeros(200), torch.zeros(200, 1, 3))
    moved = apply_rigid(splats, torch.as_tensor(pose.rotation, dtype=torch.float32),
                        torch.as_tensor(pose.translation, dtype=torch.float32), centre)
    torch.testing.assert_close(out_means[-1], moved.means, atol=2e-5, rtol=0)
    torch.testing.assert_close(out_quats[-1], moved.quats, atol=1e-5, rtol=0)
    if name == "rigid":
        m = model.object_matrices()[0]
        np.testing.assert_allclose(means.numpy() @ m[:3, :3].T + m[:3, 3], moved.means.numpy(),
                                   atol=2e-5)


def test_sequential_models_start_a_frame_from_the_previous_one(asset):
    model = make_model("direct", asset[2], FRAMES)
    with torch.no_grad():
        model.tau[1] = 0.25
    model.start_frame(2)
    torch.testing.assert_close(model.tau[2], torch.full((16, 3), 0.25))
    assert float(model.tau.detach()[0].abs().max()) == 0.0
    assert model.sequential and not make_model("mlp", asset[2], FRAMES).sequential


def test_unknown_model_and_frames_outside_the_clip_are_refused(asset):
    with pytest.raises(ConfigError, match=r"unknown deformation model 'spline'; choose one of "
                                          r"rigid, direct, mlp"):
        make_model("spline", asset[2], FRAMES)
    with pytest.raises(ConfigError, match=r"frame indices \[3\] outside the model's 3 frames"):
        make_model("direct", asset[2], FRAMES)(torch.tensor([3]))
    with pytest.raises(ConfigError, match="at least 1 frame, got 0"):
        make_model("rigid", asset[2], 0)


def test_positional_encoding_known_values():
    out = positional_encoding(torch.tensor([[0.5]]), 2)
    expected = torch.tensor([[0.5, math.sin(math.pi / 2), math.sin(math.pi),
                              math.cos(math.pi / 2), math.cos(math.pi)]])
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
    assert positional_encoding(torch.zeros(7, 3), 10).shape == (7, 63)


def test_timenet_layout_and_zero_heads():
    net = TimeNet()
    assert net.in_dim == 63 + 13
    assert len(net.layers) == 8 and all(layer.out_features == 256 for layer in net.layers)
    assert [layer.in_features for layer in net.layers] == [76, 256, 256, 256, 332, 256, 256, 256]
    with torch.no_grad():
        rot, tau = net(torch.randn(2, 5, 76))
    assert float(rot.abs().max()) == 0.0 and float(tau.abs().max()) == 0.0


def test_mlp_normalises_positions_to_the_box_and_time_to_the_unit_interval(asset):
    model = make_model("mlp", asset[2], 5)
    unit = model.unit_positions
    torch.testing.assert_close(unit.min(0).values, -torch.ones(3))
    torch.testing.assert_close(unit.max(0).values, torch.ones(3))
    torch.testing.assert_close(model.times(torch.arange(5)), torch.tensor([0, .25, .5, .75, 1.]))


def test_mlp_gradients_reach_every_layer_after_one_step(asset):
    model = make_model("mlp", asset[2], 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        opt.zero_grad()
        rot, trans = model(torch.arange(2))
        (((trans - 0.1) ** 2).sum() + ((rot[..., 1:] - 0.1) ** 2).sum()).backward()
        opt.step()
    assert all(float(p.grad.abs().max()) > 0 for p in model.parameters())


def test_neighbour_graph_excludes_each_point_itself():
    cp = np.array([[0.0, 0, 0], [1, 0, 0], [3, 0, 0], [7, 0, 0]])
    np.testing.assert_array_equal(neighbour_graph(cp, 2), [[1, 2], [0, 2], [1, 0], [2, 1]])
    assert neighbour_graph(cp, 10).shape == (4, 3)
    with pytest.raises(ConfigError, match="at least 2 control points, got 1"):
        neighbour_graph(cp[:1])


def test_arap_is_zero_for_a_rigid_motion_and_known_for_a_stretch():
    rng = np.random.default_rng(3)
    cp = torch.as_tensor(rng.normal(size=(12, 3)))
    graph = torch.as_tensor(neighbour_graph(cp.numpy(), 4))
    R = axis_angle_to_matrix(torch.tensor([0.5, -0.3, 0.8], dtype=torch.float64))
    moved = cp @ R.T + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    assert float(arap_loss(cp, graph, (moved - cp)[None])) < 1e-20
    # two points 1 apart stretched to 2 apart: R = I, each edge's residual is 1
    pair = torch.tensor([[0.0, 0, 0], [1, 0, 0]], dtype=torch.float64)
    trans = torch.tensor([[[0.0, 0, 0], [1, 0, 0]]], dtype=torch.float64, requires_grad=True)
    loss = arap_loss(pair, torch.tensor([[1], [0]]), trans)
    assert float(loss) == pytest.approx(1.0)
    loss.backward()
    torch.testing.assert_close(trans.grad, torch.tensor([[[-2.0, 0, 0], [2, 0, 0]]],
                                                        dtype=torch.float64))


def test_kabsch_finds_a_known_rotation_without_reflection():
    rng = np.random.default_rng(4)
    edges = torch.as_tensor(rng.normal(size=(6, 3)))
    R = axis_angle_to_matrix(torch.tensor([-1.0, 0.4, 2.0], dtype=torch.float64))
    torch.testing.assert_close(kabsch_rotations(edges, edges @ R.T), R)
    mirrored = kabsch_rotations(edges, edges * torch.tensor([1.0, 1.0, -1.0],
                                                            dtype=torch.float64))
    assert float(torch.det(mirrored)) == pytest.approx(1.0)


def test_temporal_smoothness_second_differences_with_known_values():
    q = torch.zeros(3, 2, 4)
    q[..., 0] = 1
    steady = torch.arange(3.0)[:, None, None] * torch.tensor([1.0, 2.0, 0.0])
    assert float(temporal_smoothness(steady.expand(3, 2, 3), q)) == 0.0  # constant velocity
    jerk = torch.zeros(3, 2, 3)
    jerk[2, 0] = torch.tensor([0.0, 3.0, 4.0])                        # |a| = 5 on one point
    assert float(temporal_smoothness(jerk, q, size=5.0)) == pytest.approx(0.5)
    assert float(temporal_smoothness(jerk[1:], q[1:], size=5.0)) == pytest.approx(0.5)  # F = 2
    flipped = q.clone()
    flipped[1] = -1.0 * flipped[1]                                     # -q is the same rotation
    assert float(temporal_smoothness(torch.zeros(3, 2, 3), flipped)) == 0.0
    assert float(temporal_smoothness(jerk[:1], q[:1])) == 0.0
