"""Blender's Armature modifier moves the splats exactly as the engine's skinning does."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest
import torch
from mathutils import Euler, Vector

from spectralsplats_addon.blender.armature_rig import (MODIFIER_NAME, bone_name, build_armature,
                                                      find_rig)
from spectralsplats_addon.blender.display_nodes import MODIFIER_NAME as DISPLAY_MODIFIER
from spectralsplats_addon.blender.point_object import splats_from_object
from spectralsplats_addon.engine.deform.skinning import skin_positions
from spectralsplats_addon.engine.rig import build_rig

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats"


def evaluated_positions(obj) -> np.ndarray:
    """Object-local positions after the modifier stack (display off, so a mesh comes out)."""
    obj.modifiers[DISPLAY_MODIFIER].show_viewport = False
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = obj.evaluated_get(depsgraph).data
    out = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", out)
    obj.modifiers[DISPLAY_MODIFIER].show_viewport = True
    return out.reshape(-1, 3).astype(np.float64)


def random_pose(num_bones: int, size: float, seed: int):
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=(num_bones, 3))
    angle = rng.uniform(0, 0.6, size=num_bones)
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    q = np.concatenate([np.cos(angle / 2)[:, None], axis * np.sin(angle / 2)[:, None]], axis=1)
    t = rng.normal(scale=0.1 * size, size=(num_bones, 3))
    return q, t


@pytest.mark.parametrize("path, count", [(REAL / "donut.ply", 512), (REAL / "lod3.ply", 64)],
                         ids=["donut-512", "lod3-64"])
def test_armature_deformation_equals_engine_skinning(addon, path, count):
    bpy.ops.spectralsplats.import_ply(filepath=str(path))
    obj = bpy.context.view_layer.objects.active
    # Moved, rotated and non-uniformly scaled: the rig lives in the object's own frame.
    obj.location = Vector((1.5, -2.0, 0.5))
    obj.rotation_euler = Euler((0.3, -0.7, 1.1))
    obj.scale = Vector((1.5, 0.8, 2.0))
    splats = splats_from_object(obj)
    rig = build_rig(splats.means, count, seed=0)
    arm_obj = build_armature(obj, rig)
    assert find_rig(obj) == arm_obj and len(arm_obj.data.bones) == rig.num_control_points
    assert obj.modifiers[0].name == MODIFIER_NAME  # deforms before the display
    size = float(np.linalg.norm(splats.means.max(0) - splats.means.min(0)))

    rest = evaluated_positions(obj)
    np.testing.assert_allclose(rest, splats.means, atol=1e-6 * size)

    q, t = random_pose(rig.num_control_points, size, seed=1)
    for k, pose_bone in enumerate(arm_obj.pose.bones):
        assert pose_bone.name == bone_name(k)
        pose_bone.rotation_quaternion = q[k]
        pose_bone.location = t[k]
    blender = evaluated_positions(obj)

    as64 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))
    engine = skin_positions(as64(splats.means), as64(rig.control_points), as64(q)[None],
                            as64(t)[None], torch.as_tensor(rig.indices), as64(rig.weights))[0]
    error = np.abs(blender - engine.numpy()).max() / size
    print(f"{path.name}: Armature vs engine, max error {error:.2e} of the asset size")
    assert error < 1e-4, f"max error {error:.2e} of the asset size"
    moved = np.abs(blender - splats.means).max() / size
    assert moved > 0.05  # the pose really moved the splats


def test_rigging_again_replaces_the_old_rig(addon):
    bpy.ops.spectralsplats.import_ply(filepath=str(REAL / "lod3.ply"))
    obj = bpy.context.view_layer.objects.active
    means = splats_from_object(obj).means
    build_armature(obj, build_rig(means, 64))
    arm_obj = build_armature(obj, build_rig(means, 32))
    assert [o for o in bpy.data.objects if o.type == "ARMATURE"] == [arm_obj]
    assert len(bpy.data.armatures) == 1 and len(arm_obj.data.bones) == 32
    assert len(obj.vertex_groups) == 32
    assert [m.type for m in obj.modifiers].count("ARMATURE") == 1


def test_rig_operator_rigs_the_active_splat_object(addon):
    bpy.ops.spectralsplats.import_ply(filepath=str(REAL / "lod3.ply"))
    obj = bpy.context.view_layer.objects.active
    assert bpy.ops.spectralsplats.rig(control_points=40, neighbours=3) == {"FINISHED"}
    arm_obj = find_rig(obj)
    assert arm_obj is not None and len(arm_obj.data.bones) == 40
    expected = build_rig(splats_from_object(obj).means, 40, 3, seed=0)
    heads = np.array([b.head_local for b in arm_obj.data.bones])
    np.testing.assert_allclose(heads, expected.control_points, atol=1e-6)
    # Each splat's vertex groups hold its three weights.
    groups = {g.index: int(g.name[3:]) for g in obj.vertex_groups}
    vertex = obj.data.vertices[7]
    got = sorted((groups[e.group], e.weight) for e in vertex.groups)
    want = sorted(zip(expected.indices[7].tolist(), expected.weights[7].tolist()))
    assert [k for k, _ in got] == [k for k, _ in want]
    np.testing.assert_allclose([w for _, w in got], [w for _, w in want], rtol=1e-6)


def test_rig_operator_needs_a_splat_object(addon):
    bpy.ops.mesh.primitive_cube_add()
    with pytest.raises(RuntimeError, match="poll"):
        bpy.ops.spectralsplats.rig()
