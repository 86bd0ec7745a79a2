"""Blender 5.3+ native Gaussian splats: reading Blender's own splat point clouds, and showing a
splat object as one, deformed by its rig.

Blender's layout (a PointCloud of type GAUSSIAN_SPLAT, from File > Import > PLY or SPZ):
    position       FLOAT_VECTOR  centres
    radiance:base  FLOAT4        SH coefficient 0 (f_dc) for R, G, B; opacity sigmoid(logit)
    scale          FLOAT_VECTOR  exp(log scales)
    rotation       QUATERNION    w, x, y, z (unit)
    radiance:sh_m  FLOAT_VECTOR  SH coefficient m + 1 for R, G, B

The display node group turns the splat mesh (after its Armature modifier, which moves the
centres) into such a cloud. Orientations follow the rig as the engine's skinning does
(engine/deform/skinning.py): q'_i = normalise(sum_j w_ij s_ij q_k(ij)) * q_i, with q_k each bone's
pose rotation (Bone Info node) and s = -1 where its w < 0; the rig's K indices and weights per
splat are the point attributes rig_index_j / rig_weight_j.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..engine.errors import TrackInputError
from ..engine.splats import Splats
from .compat import set_modifier_input

SPLAT_TYPE_ITEM = "3D Gaussian Splat"  # the "Points Set Type" node's menu item
RIG_INDEX, RIG_WEIGHT = "rig_index_{}", "rig_weight_{}"
NATIVE_GROUP_PREFIX = "SpectralSplats Native Splats"


def _read(attributes, name: str, prop: str, width: int) -> np.ndarray:
    attr = attributes.get(name)
    if attr is None:
        raise TrackInputError(f"the splat cloud has no {name!r} attribute: import the file "
                              "again with File > Import > PLY or SPZ")
    out = np.empty(len(attr.data) * width, dtype=np.float32)
    attr.data.foreach_get(prop, out)
    return out.reshape(-1, width)


def splats_from_cloud(cloud) -> Splats:
    """The splats of a native GAUSSIAN_SPLAT point cloud (object-local, numpy float32)."""
    attributes = cloud.attributes
    base = _read(attributes, "radiance:base", "vector", 4)
    rest = sorted((a.name for a in attributes if a.name.startswith("radiance:sh_")),
                  key=lambda name: int(name.rsplit("_", 1)[1]))
    degree = int(round(np.sqrt(len(rest) + 1))) - 1
    if (degree + 1) ** 2 != len(rest) + 1:
        raise TrackInputError(f"the splat cloud has {len(rest)} radiance:sh_* attributes, "
                              "not (degree + 1)^2 - 1 for an SH degree 0 to 3")
    sh = np.stack([base[:, :3]] + [_read(attributes, n, "vector", 3) for n in rest], axis=1)
    alpha = np.clip(base[:, 3].astype(np.float64), 1e-7, 1 - 1e-7)
    quats = _read(attributes, "rotation", "value", 4)
    return Splats(
        means=_read(attributes, "position", "vector", 3),
        quats=quats / np.maximum(np.linalg.norm(quats, axis=1, keepdims=True), 1e-12),
        log_scales=np.log(np.maximum(_read(attributes, "scale", "vector", 3), 1e-30)),
        opacity_logits=np.log(alpha / (1 - alpha)).astype(np.float32),
        sh=sh.astype(np.float32),
    )


def adopt_cloud(cloud_obj, context):
    """Replaces a native splat cloud object by an equivalent splat object (same name,
    transform, collections; native display); returns the new object, made active."""
    from .display_nodes import add_display_modifier
    from .point_object import splats_to_object

    splats = splats_from_cloud(cloud_obj.data)
    name, matrix, collections = cloud_obj.name, cloud_obj.matrix_world.copy(), \
        list(cloud_obj.users_collection)
    cloud_obj.name = f"{name} (Blender import)"
    obj = splats_to_object(splats, name, collections[0] if collections else
                           context.scene.collection)
    for collection in collections[1:]:
        collection.objects.link(obj)
    obj.matrix_world = matrix
    add_display_modifier(obj, "SPLATS")
    bpy.data.objects.remove(cloud_obj)
    context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj


def write_base_attribute(mesh) -> None:
    """radiance:base (FLOAT4: f_dc, sigmoid(opacity)) on the splat mesh, from its sh_0 and
    opacity (Geometry Nodes cannot build a four-component value; the display passes it on)."""
    n = len(mesh.vertices)
    dc, logit = np.empty(n * 3, dtype=np.float32), np.empty(n, dtype=np.float32)
    mesh.attributes["sh_0"].data.foreach_get("vector", dc)
    mesh.attributes["opacity"].data.foreach_get("value", logit)
    base = np.empty((n, 4), dtype=np.float32)
    base[:, :3] = dc.reshape(n, 3)
    base[:, 3] = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))
    attr = mesh.attributes.get("radiance:base") or mesh.attributes.new("radiance:base", "FLOAT4",
                                                                       "POINT")
    attr.data.foreach_set("vector", base.ravel())


def write_rig_attributes(mesh, indices: np.ndarray, weights: np.ndarray) -> None:
    """The rig's indices / weights [N, K] as point attributes rig_index_j / rig_weight_j."""
    for name in [a.name for a in mesh.attributes
                 if a.name.startswith(("rig_index_", "rig_weight_"))]:
        mesh.attributes.remove(mesh.attributes[name])
    for j in range(indices.shape[1]):
        mesh.attributes.new(RIG_INDEX.format(j), "INT", "POINT").data.foreach_set(
            "value", np.ascontiguousarray(indices[:, j], dtype=np.int32))
        mesh.attributes.new(RIG_WEIGHT.format(j), "FLOAT", "POINT").data.foreach_set(
            "value", np.ascontiguousarray(weights[:, j], dtype=np.float32))


def follow_rig(obj, mod, arm_obj, indices: np.ndarray, weights: np.ndarray) -> None:
    """Makes the native display modifier mod rotate the splats of obj with arm_obj's bones."""
    write_rig_attributes(obj.data, indices, weights)
    mod.node_group = ensure_node_group(int(obj["spectralsplats_sh_degree"]), indices.shape[1])
    _set_input(mod, "Armature", arm_obj)
    _set_input(mod, "Bones", len(arm_obj.data.bones))


def _set_input(mod, name: str, value) -> None:
    for item in mod.node_group.interface.items_tree:
        if item.item_type == "SOCKET" and item.in_out == "INPUT" and item.name == name:
            set_modifier_input(mod, item.identifier, value)


class _Graph:
    """Small helpers to wire a Geometry Nodes tree."""

    def __init__(self, group):
        self.nodes, self.links = group.nodes, group.links

    def node(self, kind: str, **inputs):
        node = self.nodes.new(kind)
        for key, value in inputs.items():
            socket = node.inputs[key]
            if isinstance(value, bpy.types.NodeSocket):
                self.links.new(value, socket)
            else:
                socket.default_value = value
        return node

    def named(self, name: str, data_type: str):
        node = self.nodes.new("GeometryNodeInputNamedAttribute")
        node.data_type = data_type
        node.inputs["Name"].default_value = name
        return node.outputs["Attribute"]

    def math(self, operation: str, a, b=None):
        node = self.nodes.new("ShaderNodeMath")
        node.operation = operation
        for i, value in enumerate((a, b)):
            if isinstance(value, bpy.types.NodeSocket):
                self.links.new(value, node.inputs[i])
            elif value is not None:
                node.inputs[i].default_value = value
        return node.outputs[0]

    def store(self, geometry, name: str, data_type: str, value):
        node = self.nodes.new("GeometryNodeStoreNamedAttribute")
        node.data_type = data_type
        node.inputs["Name"].default_value = name
        self.links.new(geometry, node.inputs["Geometry"])
        self.links.new(value, node.inputs["Value"])
        return node.outputs["Geometry"]


def _bone_table(g: _Graph, g_in):
    """A point per bone k holding its pose rotation (attribute bone_rotation)."""
    table = g.node("GeometryNodePoints", Count=g_in.outputs["Bones"])
    start = g.nodes.new("GeometryNodeRepeatInput")
    end = g.nodes.new("GeometryNodeRepeatOutput")
    start.pair_with_output(end)
    end.repeat_items.new("GEOMETRY", "Table")
    end.repeat_items.new("INT", "Bone")
    g.links.new(g_in.outputs["Bones"], start.inputs["Iterations"])
    g.links.new(table.outputs["Points"], start.inputs["Table"])
    start.inputs["Bone"].default_value = 0
    number = g.nodes.new("FunctionNodeValueToString")
    number.data_type = "INT"
    g.links.new(start.outputs["Bone"], number.inputs["Value"])
    number.inputs["Padding"].default_value = 4
    join = g.nodes.new("GeometryNodeStringJoin")
    prefix = g.nodes.new("FunctionNodeInputString")
    prefix.string = "cp_"
    # A multi-input socket lists its newest link first: this makes "cp_" + number.
    g.links.new(number.outputs["String"], join.inputs["Strings"])
    g.links.new(prefix.outputs[0], join.inputs["Strings"])
    bone = g.node("GeometryNodeBoneInfo", Armature=g_in.outputs["Armature"])
    g.links.new(join.outputs[0], bone.inputs["Bone Name"])
    rotation = g.node("FunctionNodeSeparateTransform", Transform=bone.outputs["Pose"])
    index = g.nodes.new("GeometryNodeInputIndex").outputs[0]
    here = g.nodes.new("FunctionNodeCompare")
    here.data_type = "INT"
    here.operation = "EQUAL"
    g.links.new(index, here.inputs[0])
    g.links.new(start.outputs["Bone"], here.inputs[1])
    stored = g.nodes.new("GeometryNodeStoreNamedAttribute")
    stored.data_type = "QUATERNION"
    stored.inputs["Name"].default_value = "bone_rotation"
    g.links.new(start.outputs["Table"], stored.inputs["Geometry"])
    g.links.new(here.outputs[0], stored.inputs["Selection"])
    g.links.new(rotation.outputs["Rotation"], stored.inputs["Value"])
    g.links.new(stored.outputs["Geometry"], end.inputs["Table"])
    g.links.new(g.math("ADD", start.outputs["Bone"], 1.0), end.inputs["Bone"])
    return end.outputs["Table"]


def _rigged_rotation(g: _Graph, g_in, rest, neighbours: int):
    """normalise(sum_j w_j s_j q_k(j)) * rest, as a Rotation field."""
    table = _bone_table(g, g_in)
    total = [None] * 4
    for j in range(neighbours):
        sample = g.nodes.new("GeometryNodeSampleIndex")
        sample.data_type = "QUATERNION"
        g.links.new(table, sample.inputs["Geometry"])
        g.links.new(g.named("bone_rotation", "QUATERNION"), sample.inputs["Value"])
        g.links.new(g.named(RIG_INDEX.format(j), "INT"), sample.inputs["Index"])
        q = g.node("FunctionNodeRotationToQuaternion", Rotation=sample.outputs[0])
        negative = g.math("LESS_THAN", q.outputs["W"], 0.0)
        sign = g.math("SUBTRACT", 1.0, g.math("MULTIPLY", 2.0, negative))
        scale = g.math("MULTIPLY", sign, g.named(RIG_WEIGHT.format(j), "FLOAT"))
        for c, key in enumerate("WXYZ"):
            term = g.math("MULTIPLY", scale, q.outputs[key])
            total[c] = term if total[c] is None else g.math("ADD", total[c], term)
    norm = g.math("SQRT", g.math("ADD", g.math("ADD", g.math("MULTIPLY", total[0], total[0]),
                                                     g.math("MULTIPLY", total[1], total[1])),
                                  g.math("ADD", g.math("MULTIPLY", total[2], total[2]),
                                         g.math("MULTIPLY", total[3], total[3]))))
    blended = g.nodes.new("FunctionNodeQuaternionToRotation")
    for c, key in enumerate("WXYZ"):
        g.links.new(g.math("DIVIDE", total[c], norm), blended.inputs[key])
    rotate = g.nodes.new("FunctionNodeRotateRotation")
    rotate.rotation_space = "GLOBAL"
    g.links.new(rest, rotate.inputs["Rotation"])
    g.links.new(blended.outputs[0], rotate.inputs["Rotate By"])
    return rotate.outputs[0]


def ensure_node_group(sh_degree: int, neighbours: int):
    """The display group for splats of this SH degree rigged with this many neighbours per
    splat (0: not rigged). Inputs: Geometry (the splat mesh, with radiance:base), Armature,
    Bones."""
    name = f"{NATIVE_GROUP_PREFIX} (SH {sh_degree}, K {neighbours})"
    group = bpy.data.node_groups.get(name)
    if group is not None:
        return group
    group = bpy.data.node_groups.new(name, "GeometryNodeTree")
    iface = group.interface
    iface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    iface.new_socket("Armature", in_out="INPUT", socket_type="NodeSocketObject")
    iface.new_socket("Bones", in_out="INPUT", socket_type="NodeSocketInt")
    iface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    g = _Graph(group)
    g_in = g.nodes.new("NodeGroupInput")
    g_out = g.nodes.new("NodeGroupOutput")

    rest = g.named("rotation", "QUATERNION")
    rotation = _rigged_rotation(g, g_in, rest, neighbours) if neighbours else rest
    points = g.node("GeometryNodeMeshToPoints", Mesh=g_in.outputs["Geometry"]).outputs["Points"]
    splat = g.node("GeometryNodePointsSetType", Points=points)
    splat.inputs["Type"].default_value = SPLAT_TYPE_ITEM
    geometry = g.store(splat.outputs["Points"], "rotation", "QUATERNION", rotation)

    log_scale = g.node("ShaderNodeSeparateXYZ", Vector=g.named("scale", "FLOAT_VECTOR"))
    scale = g.nodes.new("ShaderNodeCombineXYZ")
    for i in range(3):
        g.links.new(g.math("EXPONENT", log_scale.outputs[i]), scale.inputs[i])
    geometry = g.store(geometry, "scale", "FLOAT_VECTOR", scale.outputs[0])

    for m in range(1, (sh_degree + 1) ** 2):
        geometry = g.store(geometry, f"radiance:sh_{m - 1}", "FLOAT_VECTOR",
                           g.named(f"sh_{m}", "FLOAT_VECTOR"))
    g.links.new(geometry, g_out.inputs["Geometry"])
    return group
