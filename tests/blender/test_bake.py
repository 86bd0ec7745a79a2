"""Baking a result: exact motion at every baked frame, marked keys, range replacement."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest
import torch
from mathutils import Matrix

from spectralsplats_addon.blender.armature_rig import bone_name, build_armature, find_rig
from spectralsplats_addon.blender.keyframes import fcurves_of
from spectralsplats_addon.blender.point_object import splats_from_object
from spectralsplats_addon.engine.deform.skinning import skin_positions
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.rig import build_rig
from support.blender_scene import evaluated_positions

LOD3 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "lod3.ply"
FRAMES = np.arange(5, 11)


def random_motion(frames, points, size, seed):
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=(len(frames), points, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = rng.uniform(0, 0.5, size=(len(frames), points, 1))
    q = np.concatenate([np.cos(angle / 2), axis * np.sin(angle / 2)], axis=-1)
    return TrackResult(frames=frames, rotations=q,
                       translations=rng.normal(scale=0.1 * size, size=(len(frames), points, 3)))


@pytest.fixture
def rigged(addon):
    bpy.ops.spectralsplats.import_ply(filepath=str(LOD3))
    obj = bpy.context.view_layer.objects.active
    obj.location = (0.5, 1.0, -2.0)
    obj.rotation_euler = (0.2, 0.4, -0.3)
    splats = splats_from_object(obj)
    rig = build_rig(splats.means, 32, seed=0)
    build_armature(obj, rig)
    size = float(np.linalg.norm(splats.means.max(0) - splats.means.min(0)))
    return obj, splats, rig, size


def test_baked_motion_matches_the_engine_at_every_frame(rigged, tmp_path):
    obj, splats, rig, size = rigged
    result = random_motion(FRAMES, rig.num_control_points, size, seed=1)
    result.save(tmp_path / "result.npz")
    assert bpy.ops.spectralsplats.bake(filepath=str(tmp_path / "result.npz")) == {"FINISHED"}
    as64 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))
    engine = skin_positions(as64(splats.means), as64(rig.control_points), as64(result.rotations),
                            as64(result.translations), torch.as_tensor(rig.indices),
                            as64(rig.weights)).numpy()
    for f, frame in enumerate(FRAMES):
        bpy.context.scene.frame_set(int(frame))
        error = np.abs(evaluated_positions(obj) - engine[f]).max() / size
        assert error < 1e-4, f"frame {frame}: {error:.2e} of the asset size"


def test_keys_are_marked_and_rebaking_replaces_only_the_tracked_range(rigged, tmp_path):
    obj, splats, rig, size = rigged
    first = random_motion(FRAMES, rig.num_control_points, size, seed=1)
    first.save(tmp_path / "first.npz")
    bpy.ops.spectralsplats.bake(filepath=str(tmp_path / "first.npz"))
    arm_obj = find_rig(obj)
    fcurves = fcurves_of(arm_obj, "unused")
    assert len(fcurves) == rig.num_control_points * 7
    path = f'pose.bones["{bone_name(3)}"].location'
    fc = fcurves.find(path, index=0)
    assert [k.co[0] for k in fc.keyframe_points] == list(map(float, FRAMES))
    assert {k.type for k in fc.keyframe_points} == {"GENERATED"}
    # An animator's keys: one outside the range, one inside it.
    outside = fc.keyframe_points.insert(20, 7.5)
    outside.type = "KEYFRAME"
    fc.keyframe_points.insert(7, -3.0).type = "KEYFRAME"
    second = random_motion(FRAMES, rig.num_control_points, size, seed=2)
    second.save(tmp_path / "second.npz")
    bpy.ops.spectralsplats.bake(filepath=str(tmp_path / "second.npz"))
    keys = {k.co[0]: (k.co[1], k.type) for k in fc.keyframe_points}
    assert keys[20.0] == (7.5, "KEYFRAME")  # kept
    assert sorted(keys) == list(map(float, FRAMES)) + [20.0]
    for f, frame in enumerate(FRAMES):
        value, kind = keys[float(frame)]
        assert kind == "GENERATED" and value == pytest.approx(second.translations[f, 3, 0])


def test_rigid_result_keys_the_object_transform(rigged, tmp_path):
    obj, splats, rig, size = rigged
    rest_world = obj.matrix_world.copy()
    angles = np.linspace(0, 0.8, len(FRAMES))
    mats = []
    for a in angles:
        m = np.eye(4)
        m[:3, :3] = np.array(Matrix.Rotation(float(a), 3, "Z"))
        m[:3, 3] = (0.3 * a, -0.1 * a, 0.2 * a)
        mats.append(m)
    q = np.zeros((len(FRAMES), rig.num_control_points, 4))
    q[..., 0] = 1
    TrackResult(frames=FRAMES, rotations=q, translations=np.zeros(q.shape[:2] + (3,)),
                model="rigid", object_matrices=np.array(mats)).save(tmp_path / "rigid.npz")
    assert bpy.ops.spectralsplats.bake(filepath=str(tmp_path / "rigid.npz")) == {"FINISHED"}
    for frame, m in zip(FRAMES, mats):
        bpy.context.scene.frame_set(int(frame))
        expected = np.array(rest_world) @ m
        np.testing.assert_allclose(np.array(obj.matrix_world), expected, atol=1e-5)


def test_a_result_for_another_rig_is_refused(rigged, tmp_path):
    obj, splats, rig, size = rigged
    random_motion(FRAMES, rig.num_control_points + 1, size, seed=1).save(tmp_path / "r.npz")
    with pytest.raises(RuntimeError, match=r"moves 33 control points but the rig .* has 32 bones"):
        bpy.ops.spectralsplats.bake(filepath=str(tmp_path / "r.npz"))
    assert find_rig(obj).animation_data is None  # nothing written
