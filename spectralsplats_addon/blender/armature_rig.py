"""The control-point rig as ordinary Blender data: an armature, vertex groups, a modifier.

One bone per control point k: head at p_k (object-local), tail at p_k + (0, L, 0), roll 0, so
each bone's rest orientation is the identity and a pose of location t_k and rotation q_k moves
a splat exactly as the engine's skinning does (engine/deform/skinning.py). The armature is parented
to the point object with an identity local transform, so both share one frame; moving,
rotating or scaling the point object carries the rig with it.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..engine.rig import Rig
from .display_nodes import MODIFIER_NAME as DISPLAY_MODIFIER
from .native_splats import NATIVE_GROUP_PREFIX, follow_rig

RIG_TAG = "spectralsplats_rig"       # armature object custom property: the rig's owner
MODIFIER_NAME = "Splat Rig"
BONE_PREFIX = "cp_"


def bone_name(k: int) -> str:
    return f"{BONE_PREFIX}{k:04d}"


def find_rig(obj):
    """The armature object rigging a splat object, or None."""
    for child in obj.children:
        if child.type == "ARMATURE" and child.get(RIG_TAG) == obj.name:
            return child
    return None


def remove_rig(obj) -> None:
    """Removes the rig of a splat object: modifier, vertex groups, armature and its data."""
    mod = obj.modifiers.get(MODIFIER_NAME)
    if mod is not None:
        obj.modifiers.remove(mod)
    for group in [g for g in obj.vertex_groups if g.name.startswith(BONE_PREFIX)]:
        obj.vertex_groups.remove(group)
    arm_obj = find_rig(obj)
    if arm_obj is not None:
        data = arm_obj.data
        bpy.data.objects.remove(arm_obj)
        if data.users == 0:
            bpy.data.armatures.remove(data)


def _add_bones(arm_obj, rig: Rig, length: float) -> None:
    view_layer = bpy.context.view_layer
    previous = view_layer.objects.active
    view_layer.objects.active = arm_obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        bones = arm_obj.data.edit_bones
        for k, head in enumerate(rig.control_points.astype(float)):
            bone = bones.new(bone_name(k))
            bone.head = head
            bone.tail = head + np.array([0.0, length, 0.0])
            bone.roll = 0.0
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous


def _add_weights(obj, rig: Rig) -> None:
    """Vertex group k holds, for each splat bound to control point k, its weight."""
    groups = [obj.vertex_groups.new(name=bone_name(k)) for k in range(rig.num_control_points)]
    order = np.argsort(rig.indices, axis=None, kind="stable")
    flat_bone = rig.indices.ravel()[order]
    flat_splat = order // rig.indices.shape[1]
    flat_weight = rig.weights.ravel()[order].astype(float)
    bounds = np.searchsorted(flat_bone, np.arange(rig.num_control_points + 1))
    for k, group in enumerate(groups):
        for i, w in zip(flat_splat[bounds[k]:bounds[k + 1]].tolist(),
                        flat_weight[bounds[k]:bounds[k + 1]].tolist()):
            group.add((i,), w, "REPLACE")


def build_armature(obj, rig: Rig):
    """Rigs a splat object (replacing any earlier rig); returns the armature object."""
    remove_rig(obj)
    data = bpy.data.armatures.new(f"{obj.name} Rig")
    data.display_type = "STICK"
    arm_obj = bpy.data.objects.new(f"{obj.name} Rig", data)
    arm_obj[RIG_TAG] = obj.name
    arm_obj["spectralsplats_radius"] = float(rig.radius)
    for collection in obj.users_collection:
        collection.objects.link(arm_obj)
    arm_obj.parent = obj
    arm_obj.matrix_parent_inverse.identity()
    arm_obj.matrix_basis.identity()
    _add_bones(arm_obj, rig, length=max(float(rig.radius) * 0.5, 1e-4))
    for pose_bone in arm_obj.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    _add_weights(obj, rig)
    mod = obj.modifiers.new(MODIFIER_NAME, "ARMATURE")
    mod.object = arm_obj
    mod.use_vertex_groups = True
    mod.use_bone_envelopes = False
    mod.use_deform_preserve_volume = False
    obj.modifiers.move(len(obj.modifiers) - 1, 0)  # deform before the display modifier
    display = obj.modifiers.get(DISPLAY_MODIFIER)
    if display is not None and display.node_group is not None \
            and display.node_group.name.startswith(NATIVE_GROUP_PREFIX):
        follow_rig(obj, display, arm_obj, rig.indices, rig.weights)  # orientations too
    return arm_obj
