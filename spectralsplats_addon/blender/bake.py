"""Bake a tracking result into keyframes.

Non-rigid models (direct, mlp): per tracked frame, each control point's bone gets
location = t_k and rotation_quaternion = q_k (its rest orientation is the identity, see
armature_rig.py), so the Armature modifier reproduces the engine's skinning. Rigid model:
the splat object's own transform gets keys: matrix_basis = rest basis @ M_f, where M_f is the
result's object-local rigid transform of frame f.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mathutils import Matrix

from ..engine.errors import SpectralSplatsError
from ..engine.result import TrackResult
from .armature_rig import bone_name, find_rig
from .keyframes import ensure_fcurve, fcurves_of, write_keys


class BakeError(SpectralSplatsError, ValueError):
    """A result that does not fit the object it is baked onto."""


@dataclass
class BakeReport:
    target: str        # the object that got the keys
    frames: int
    fcurves: int


def _write_channels(id_data, channels: dict, frames: np.ndarray, group_of) -> int:
    fcurves = fcurves_of(id_data, f"{id_data.name} Tracked")
    for (data_path, index), values in channels.items():
        write_keys(ensure_fcurve(fcurves, data_path, index, group_of(data_path)), frames, values)
    return len(channels)


def bake_bones(obj, result: TrackResult) -> BakeReport:
    arm_obj = find_rig(obj)
    if arm_obj is None:
        raise BakeError(f"{obj.name!r} has no rig: rig it first (Object > Rig Gaussian Splats)")
    bones = len(arm_obj.pose.bones)
    if bones != result.num_control_points:
        raise BakeError(f"the result moves {result.num_control_points} control points but the rig "
                        f"of {obj.name!r} has {bones} bones: track again with this rig")
    channels = {}
    for k in range(bones):
        base = f'pose.bones["{bone_name(k)}"]'
        arm_obj.pose.bones[k].rotation_mode = "QUATERNION"
        for i in range(3):
            channels[(f"{base}.location", i)] = result.translations[:, k, i]
        for i in range(4):
            channels[(f"{base}.rotation_quaternion", i)] = result.rotations[:, k, i]
    count = _write_channels(arm_obj, channels, result.frames,
                            lambda path: path.split('"')[1])
    return BakeReport(arm_obj.name, result.num_frames, count)


def bake_object(obj, result: TrackResult) -> BakeReport:
    rest = obj.get("spectralsplats_rest_basis")
    rest = Matrix(np.array(rest, dtype=float).reshape(4, 4).tolist()) if rest is not None \
        else obj.matrix_basis.copy()
    obj["spectralsplats_rest_basis"] = [v for row in rest for v in row]
    obj.rotation_mode = "QUATERNION"
    loc, rot, scale = [], [], []
    for m in result.object_matrices:
        t, r, s = (rest @ Matrix(m.astype(float).tolist())).decompose()
        loc.append(t[:]), rot.append(r[:]), scale.append(s[:])
    loc, rot, scale = np.array(loc), np.array(rot), np.array(scale)
    channels = {("location", i): loc[:, i] for i in range(3)}
    channels.update({("rotation_quaternion", i): rot[:, i] for i in range(4)})
    channels.update({("scale", i): scale[:, i] for i in range(3)})
    count = _write_channels(obj, channels, result.frames, lambda path: "Object Transforms")
    return BakeReport(obj.name, result.num_frames, count)


def bake_result(obj, result: TrackResult) -> BakeReport:
    """Keys for every tracked frame: the object's transform (rigid) or its rig's bones."""
    return bake_object(obj, result) if result.model == "rigid" else bake_bones(obj, result)
