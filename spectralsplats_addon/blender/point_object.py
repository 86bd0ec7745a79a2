"""Splats <-> a vertex-only Blender mesh object holding every splat attribute.

Point attributes (all on the POINT domain, written in bulk with foreach_set):
    position              the splat centres (object-local: the .ply's own frame)
    opacity      FLOAT         opacity logit, as in the .ply
    scale        FLOAT_VECTOR  log scales, as in the .ply
    rotation     QUATERNION    w, x, y, z, raw (not normalised), as in the .ply
    sh_0 .. sh_M FLOAT_VECTOR  SH coefficient m for R, G, B (sh_0 is f_dc)
    splat_normal FLOAT_VECTOR  only when the file has normals
    Col          FLOAT_COLOR   display colour 0.5 + C0 * f_dc (clamped) with opacity as alpha
"""

from __future__ import annotations

import bpy
import numpy as np

from ..engine.errors import TrackInputError
from ..engine.splats import Splats

SPLAT_TAG = "spectralsplats"  # object custom property: marks a splat object
DISPLAY_COLOR = "Col"


def is_splat_object(obj) -> bool:
    """True for objects made by splats_to_object."""
    return obj is not None and obj.type == "MESH" and SPLAT_TAG in obj


def poll_splat_object(cls, context) -> bool:
    """Operator poll: a splat object is active, in Object Mode (says what to do otherwise)."""
    if not is_splat_object(context.active_object):
        cls.poll_message_set("Select a Gaussian splat object (File > Import > Gaussian Splat)")
        return False
    return context.mode == "OBJECT"


def _set_attribute(mesh, name: str, data_type: str, values: np.ndarray, prop: str) -> None:
    attr = mesh.attributes.get(name) or mesh.attributes.new(name, data_type, "POINT")
    attr.data.foreach_set(prop, np.ascontiguousarray(values, dtype=np.float32).ravel())


def _get_attribute(mesh, name: str, prop: str, width: int) -> np.ndarray:
    attr = mesh.attributes.get(name)
    if attr is None:
        raise TrackInputError(f"splat attribute {name!r} is missing from mesh {mesh.name!r}: "
                              "import the .ply again")
    out = np.empty(len(mesh.vertices) * width, dtype=np.float32)
    attr.data.foreach_get(prop, out)
    return out.reshape(len(mesh.vertices), width) if width > 1 else out


def splats_to_mesh(splats: Splats, name: str):
    """A new vertex-only mesh datablock holding the splats (numpy arrays)."""
    s = splats.to_numpy()
    n = len(s)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(n)
    mesh.vertices.foreach_set("co", np.ascontiguousarray(s.means, dtype=np.float32).ravel())
    _set_attribute(mesh, "opacity", "FLOAT", s.opacity_logits, "value")
    _set_attribute(mesh, "scale", "FLOAT_VECTOR", s.log_scales, "vector")
    _set_attribute(mesh, "rotation", "QUATERNION", s.quats, "value")
    for m in range(s.sh.shape[1]):
        _set_attribute(mesh, f"sh_{m}", "FLOAT_VECTOR", s.sh[:, m, :], "vector")
    if s.normals is not None:
        _set_attribute(mesh, "splat_normal", "FLOAT_VECTOR", s.normals, "vector")
    rgba = np.empty((n, 4), dtype=np.float32)
    rgba[:, :3] = np.clip(s.colors_dc(), 0.0, 1.0)
    rgba[:, 3] = s.opacities()
    col = mesh.color_attributes.new(DISPLAY_COLOR, "FLOAT_COLOR", "POINT")
    col.data.foreach_set("color_srgb", rgba.ravel())
    mesh.color_attributes.active_color = col
    mesh.update()
    return mesh


def splats_to_object(splats: Splats, name: str, collection, source_path: str = ""):
    """A new point object in collection holding the splats; returns the object."""
    mesh = splats_to_mesh(splats, name)
    obj = bpy.data.objects.new(name, mesh)
    obj[SPLAT_TAG] = 1
    obj["spectralsplats_sh_degree"] = int(splats.sh_degree)
    obj["spectralsplats_source"] = str(source_path)
    collection.objects.link(obj)
    return obj


def splats_from_object(obj) -> Splats:
    """The splats an object holds, object-local, as float32 numpy arrays (exact copies)."""
    if not is_splat_object(obj):
        raise TrackInputError(f"object {getattr(obj, 'name', obj)!r} is not a Gaussian splat "
                              "object: import a .ply with File > Import > Gaussian Splat first")
    mesh = obj.data
    n = len(mesh.vertices)
    means = np.empty(n * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", means)
    degree = int(obj["spectralsplats_sh_degree"])
    sh = np.stack([_get_attribute(mesh, f"sh_{m}", "vector", 3) for m in range((degree + 1) ** 2)],
                  axis=1)
    normals = (_get_attribute(mesh, "splat_normal", "vector", 3)
               if mesh.attributes.get("splat_normal") is not None else None)
    return Splats(
        means=means.reshape(n, 3),
        quats=_get_attribute(mesh, "rotation", "value", 4),
        log_scales=_get_attribute(mesh, "scale", "vector", 3),
        opacity_logits=_get_attribute(mesh, "opacity", "value", 1),
        sh=sh,
        normals=normals,
    )
