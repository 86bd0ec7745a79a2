"""Bulk keyframe writing that works with Blender 4.2 to 5.x animation data.

``fcurves_of`` gives the F-curves animating a datablock whatever the Blender release
(slotted actions from 4.4: compat.action_fcurves). ``write_keys`` replaces the keys of
one F-curve inside a frame range with new ones in bulk (``keyframe_points.add`` and
``foreach_set``), keeping every key outside the range untouched, and marks the new keys with
the keyframe type GENERATED so they are told apart from hand-set keys.
"""

from __future__ import annotations

import bpy
import numpy as np

from .compat import action_fcurves, new_fcurve

TRACKED_KEY_TYPE = "GENERATED"


def fcurves_of(id_data, action_name: str):
    """The F-curve collection animating id_data (created if needed): the channelbag of its
    action slot on Blender 4.4+, the action itself before."""
    anim = id_data.animation_data or id_data.animation_data_create()
    if anim.action is None:
        anim.action = bpy.data.actions.new(action_name)
    return action_fcurves(id_data, anim.action)


def ensure_fcurve(fcurves, data_path: str, index: int, group: str):
    fc = fcurves.find(data_path, index=index)
    return fc if fc is not None else new_fcurve(fcurves, data_path, index, group)


def _enum_values(prop: str, names) -> np.ndarray:
    items = bpy.types.Keyframe.bl_rna.properties[prop].enum_items
    return np.array([items[n].value for n in names], dtype=np.int32)


def write_keys(fc, frames: np.ndarray, values: np.ndarray, *,
               interpolation: str = "LINEAR") -> None:
    """Replaces fc's keys with frame in [frames.min(), frames.max()] by (frames, values) [F].

    Keys outside that range keep every property. New keys are LINEAR and GENERATED.
    """
    frames = np.asarray(frames, dtype=np.float32)
    values = np.asarray(values, dtype=np.float32)
    points = fc.keyframe_points
    lo, hi = float(frames.min()), float(frames.max())
    old_co = np.empty(len(points) * 2, dtype=np.float32)
    points.foreach_get("co", old_co)
    inside = [i for i, x in enumerate(old_co[0::2]) if lo <= x <= hi]
    for i in reversed(inside):  # keys, not splats: at most one per tracked frame
        points.remove(points[i], fast=True)
    kept = len(points)
    points.add(len(frames))
    co = np.empty(len(points) * 2, dtype=np.float32)
    points.foreach_get("co", co)
    co[2 * kept::2], co[2 * kept + 1::2] = frames, values
    points.foreach_set("co", co)
    for prop, name in (("interpolation", interpolation), ("type", TRACKED_KEY_TYPE)):
        current = np.empty(len(points), dtype=np.int32)
        points.foreach_get(prop, current)
        current[kept:] = _enum_values(prop, [name])[0]
        points.foreach_set(prop, current)
    fc.update()  # sorts the keys and recomputes handles
