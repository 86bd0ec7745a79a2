"""Blender API differences between the releases the extension supports (4.2 LTS to 5.3).

Each helper names the versions it serves; the rest of the Blender layer calls these instead
of testing versions itself. Tested releases: 4.2, 4.5, 5.0, 5.2 and 5.3
(tests/blender_versions).
"""

from __future__ import annotations

import bpy


def material_node_tree(mat):
    """The node tree of a material: 4.2-4.5 make a new material without one until
    ``use_nodes`` is set; 5.0+ always give it one."""
    if mat.node_tree is None:
        mat.use_nodes = True
    return mat.node_tree


def set_modifier_input(mod, identifier: str, value) -> None:
    """Sets a Geometry Nodes modifier input by its socket identifier: an ID property on the
    modifier in 4.2-5.1; ``mod.properties.inputs.<identifier>.value`` in 5.2+."""
    interface = getattr(mod, "properties", None)
    if interface is not None and hasattr(interface, "inputs"):
        getattr(interface.inputs, identifier).value = value
    else:
        mod[identifier] = value


def all_strips_name(editor) -> str:
    """The name of the sequence editor's collection of every strip (meta strips' included):
    ``strips_all`` in 4.4+, ``sequences_all`` in 4.2 and 4.3."""
    return "strips_all" if hasattr(editor, "strips_all") else "sequences_all"


def top_strips(editor):
    """The editor's top-level strips, where new_movie / new_image add one: ``strips`` in 4.4+,
    ``sequences`` in 4.2 and 4.3."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def action_fcurves(id_data, action):
    """The F-curves of id_data's action: ``action.fcurves`` in 4.2 and 4.3; the channelbag of
    id_data's action slot (assigned if needed) in 4.4+ (slotted actions; 5.0 removed
    ``Action.fcurves``), made through the action's first layer and strip in 4.4 and 4.5, by
    ``anim_utils.action_ensure_channelbag_for_slot`` in 5.0+."""
    if not hasattr(action, "slots"):
        return action.fcurves
    from bpy_extras import anim_utils

    anim = id_data.animation_data
    if anim.action_slot is None:
        slot = anim_utils.action_get_first_suitable_slot(action, id_data.id_type) \
            if hasattr(anim_utils, "action_get_first_suitable_slot") else None
        anim.action_slot = slot or action.slots.new(id_data.id_type, id_data.name)
    ensure = getattr(anim_utils, "action_ensure_channelbag_for_slot", None)  # 5.0+
    if ensure is not None:
        return ensure(action, anim.action_slot).fcurves
    layer = action.layers[0] if action.layers else action.layers.new("Layer")  # 4.4, 4.5
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(anim.action_slot, ensure=True).fcurves


def new_fcurve(fcurves, data_path: str, index: int, group: str):
    """A new F-curve in group (by name): ``action_group=`` in 4.2 and 4.3 (``Action.fcurves``),
    ``group_name=`` in 5.0+; in 4.4 and 4.5 a channelbag's ``new`` takes no group, which is
    then found or made in the channelbag and assigned."""
    if bpy.app.version < (4, 4):
        return fcurves.new(data_path, index=index, action_group=group)
    if bpy.app.version >= (5, 0):
        return fcurves.new(data_path, index=index, group_name=group)
    fc = fcurves.new(data_path, index=index)
    groups = fcurves.data.groups
    fc.group = groups.get(group) or groups.new(group)
    return fc


def has_native_splats() -> bool:
    """True from 5.3: point clouds of type GAUSSIAN_SPLAT, rendered as splats, and the
    Geometry Nodes "Points Set Type" node."""
    return hasattr(bpy.types, "GeometryNodePointsSetType")


def is_native_splat_cloud(obj) -> bool:
    """A 5.3+ point cloud of type GAUSSIAN_SPLAT (Blender's own PLY/SPZ import); False before."""
    return (obj is not None and obj.type == "POINTCLOUD"
            and getattr(obj.data, "type", None) == "GAUSSIAN_SPLAT")
