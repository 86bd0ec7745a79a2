"""The viewport display of a splat object: a Geometry Nodes modifier and a material.

Points mode: Mesh to Points with radius = size * exp(max log scale), coloured by the "Col"
attribute. Ellipsoids mode: an icosphere instanced on every splat, rotated by its quaternion
and scaled by size * exp(log scales), realised so the colour attribute reaches the surface.
Splats mode (Blender 5.3+, the default there): Blender's own Gaussian splats (native_splats.py).
The splat data itself is never changed by the display.
"""

from __future__ import annotations

import bpy

from .compat import has_native_splats, material_node_tree, set_modifier_input
from .point_object import DISPLAY_COLOR

NODE_GROUP_NAME = "SpectralSplats Display"
MATERIAL_NAME = "SpectralSplats Splat"
MODIFIER_NAME = "Splat Display"
DISPLAY_MODES = (
    ("POINTS", "Points", "A coloured point per splat (fast)"),
    ("ELLIPSOIDS", "Ellipsoids", "An oriented ellipsoid per splat (slower, shows shape)"),
) + ((("SPLATS", "Gaussian Splats", "Blender's own splats, rendered as such and following "
       "the rig (Blender 5.3+)"),) if has_native_splats() else ())
DEFAULT_DISPLAY = "SPLATS" if has_native_splats() else "POINTS"


def ensure_material():
    """The shared emission material that shows the Col attribute."""
    mat = bpy.data.materials.get(MATERIAL_NAME)
    if mat is not None:
        return mat
    mat = bpy.data.materials.new(MATERIAL_NAME)
    tree = material_node_tree(mat)
    nodes, links = tree.nodes, tree.links
    nodes.clear()
    attr = nodes.new("ShaderNodeAttribute")
    attr.attribute_name = DISPLAY_COLOR
    emission = nodes.new("ShaderNodeEmission")
    out = nodes.new("ShaderNodeOutputMaterial")
    links.new(attr.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], out.inputs["Surface"])
    attr.location, emission.location, out.location = (-400, 0), (-150, 0), (100, 0)
    return mat


def _named(nodes, name: str, data_type: str):
    node = nodes.new("GeometryNodeInputNamedAttribute")
    node.data_type = data_type
    node.inputs["Name"].default_value = name
    return node


def _math(nodes, links, operation: str, a, b=None):
    node = nodes.new("ShaderNodeMath")
    node.operation = operation
    links.new(a, node.inputs[0])
    if b is not None:
        links.new(b, node.inputs[1])
    return node.outputs[0]


def ensure_node_group():
    """The shared display node group (inputs: Geometry, Ellipsoids, Size)."""
    group = bpy.data.node_groups.get(NODE_GROUP_NAME)
    if group is not None:
        return group
    group = bpy.data.node_groups.new(NODE_GROUP_NAME, "GeometryNodeTree")
    iface = group.interface
    iface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    iface.new_socket("Ellipsoids", in_out="INPUT", socket_type="NodeSocketBool")
    size = iface.new_socket("Size", in_out="INPUT", socket_type="NodeSocketFloat")
    size.default_value, size.min_value = 2.0, 0.0
    iface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")

    nodes, links = group.nodes, group.links
    g_in = nodes.new("NodeGroupInput")
    g_out = nodes.new("NodeGroupOutput")

    log_scale = _named(nodes, "scale", "FLOAT_VECTOR")
    split = nodes.new("ShaderNodeSeparateXYZ")
    links.new(log_scale.outputs["Attribute"], split.inputs[0])
    exps = [_math(nodes, links, "EXPONENT", split.outputs[i]) for i in range(3)]

    # Points: radius = size * exp(max log scale).
    largest = _math(nodes, links, "MAXIMUM",
                    _math(nodes, links, "MAXIMUM", exps[0], exps[1]), exps[2])
    radius = _math(nodes, links, "MULTIPLY", largest, g_in.outputs["Size"])
    to_points = nodes.new("GeometryNodeMeshToPoints")
    links.new(g_in.outputs["Geometry"], to_points.inputs["Mesh"])
    links.new(radius, to_points.inputs["Radius"])

    # Ellipsoids: unit icosphere, rotated by the splat quaternion, scaled by size * sigma.
    sphere = nodes.new("GeometryNodeMeshIcoSphere")
    sphere.inputs["Radius"].default_value = 1.0
    sphere.inputs["Subdivisions"].default_value = 1
    scale_vec = nodes.new("ShaderNodeCombineXYZ")
    for i in range(3):
        links.new(_math(nodes, links, "MULTIPLY", exps[i], g_in.outputs["Size"]),
                  scale_vec.inputs[i])
    rotation = _named(nodes, "rotation", "QUATERNION")
    instance = nodes.new("GeometryNodeInstanceOnPoints")
    links.new(g_in.outputs["Geometry"], instance.inputs["Points"])
    links.new(sphere.outputs["Mesh"], instance.inputs["Instance"])
    links.new(rotation.outputs["Attribute"], instance.inputs["Rotation"])
    links.new(scale_vec.outputs[0], instance.inputs["Scale"])
    realize = nodes.new("GeometryNodeRealizeInstances")
    links.new(instance.outputs["Instances"], realize.inputs["Geometry"])

    switch = nodes.new("GeometryNodeSwitch")
    switch.input_type = "GEOMETRY"
    links.new(g_in.outputs["Ellipsoids"], switch.inputs["Switch"])
    links.new(to_points.outputs["Points"], switch.inputs["False"])
    links.new(realize.outputs["Geometry"], switch.inputs["True"])

    set_mat = nodes.new("GeometryNodeSetMaterial")
    set_mat.inputs["Material"].default_value = ensure_material()
    links.new(switch.outputs[0], set_mat.inputs["Geometry"])
    links.new(set_mat.outputs["Geometry"], g_out.inputs["Geometry"])
    g_in.location, g_out.location = (-900, 0), (600, 0)
    return group


def add_display_modifier(obj, mode: str = DEFAULT_DISPLAY, size: float = 2.0):
    """Adds (or updates) the display modifier on a splat object; returns it. SPLATS (5.3+):
    a native splat cloud (native_splats.py); size applies to POINTS and ELLIPSOIDS."""
    mod = obj.modifiers.get(MODIFIER_NAME) or obj.modifiers.new(MODIFIER_NAME, "NODES")
    if mode == "SPLATS":
        from .native_splats import ensure_node_group as native_group, write_base_attribute

        write_base_attribute(obj.data)
        mod.node_group = native_group(int(obj["spectralsplats_sh_degree"]), 0)
        return mod
    group = ensure_node_group()
    mod.node_group = group
    for item in group.interface.items_tree:
        if item.item_type != "SOCKET" or item.in_out != "INPUT":
            continue
        if item.name == "Ellipsoids":
            set_modifier_input(mod, item.identifier, mode == "ELLIPSOIDS")
        elif item.name == "Size":
            set_modifier_input(mod, item.identifier, float(size))
    obj.data.materials.clear()
    obj.data.materials.append(ensure_material())
    return mod
