"""The scene -> a job folder (engine/job) that the worker process tracks.

What the job holds, read from Blender data without changing it:
- the splats of the point object (object-local) and its rest object-to-world matrix;
- the rig read back from the armature: control point k = the head of bone ``cp_k`` in
  object-local coordinates, and each splat's bones and weights from its ``cp_*`` vertex
  groups, normalised to sum 1 as Blender's Armature modifier normalises them;
- the camera (per frame where it is animated), the footage frame of every scene frame, and
  the tracking settings of the Track panel.

No torch: the engine modules used here (job, rig, config, io) are numpy-only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.errors import TrackInputError
from ..engine.job import Job, JobAsset, JobFrame, JobMatte, JobSettings, JobSource, write_job
from ..engine.rig import Rig, build_rig
from .armature_rig import BONE_PREFIX, bone_name, find_rig
from .camera_data import blender_camera_from_object
from .point_object import splats_from_object
from .strip_source import strip_frames

JOB_FILES = ("job.json", "asset.ply", "rig.npz")  # what decides whether a result still fits


@dataclass
class SceneJob:
    """A job written from the scene: its folder, the job, and whether an earlier partial
    result in that folder was kept because the job is unchanged (the worker resumes it)."""

    folder: Path
    job: Job
    resumable: bool

    @property
    def result_path(self) -> Path:
        return self.folder / self.job.outputs.result


def _bone_index(name: str) -> int | None:
    match = re.fullmatch(rf"{re.escape(BONE_PREFIX)}(\d+)", name)
    return int(match.group(1)) if match else None


def rig_from_armature(obj) -> Rig:
    """The engine Rig that obj's armature and vertex groups encode.

    control_points [P, 3]: bone cp_k's rest head (armature space = obj's local space, the
    armature being parented with an identity transform); indices, weights [N, K]: each
    splat's cp_* groups (K = the most any splat has; shorter rows padded with weight 0),
    weights divided by their sum.
    """
    arm_obj = find_rig(obj)
    if arm_obj is None:
        raise TrackInputError(f"{obj.name!r} has no rig: use Object > Rig Gaussian Splats first "
                              "(or choose the rigid model)")
    if not np.allclose(np.array(arm_obj.matrix_local), np.eye(4), atol=1e-6):
        raise TrackInputError(f"the rig {arm_obj.name!r} was moved away from {obj.name!r}: "
                              "clear its location, rotation and scale (Alt G, Alt R, Alt S), "
                              "or rig again")
    bones = arm_obj.data.bones
    count = len(bones)
    missing = [bone_name(k) for k in range(count) if bones.get(bone_name(k)) is None]
    if count == 0 or missing:
        lacking = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "") or bone_name(0)
        raise TrackInputError(f"the rig {arm_obj.name!r} lacks bones {lacking}: rig {obj.name!r} "
                              "again")
    control_points = np.array([bones[bone_name(k)].head_local[:] for k in range(count)],
                              dtype=np.float32)
    group_bone = {g.index: _bone_index(g.name) for g in obj.vertex_groups}
    rows = [[(group_bone[g.group], g.weight) for g in v.groups
             if group_bone.get(g.group) is not None and g.weight > 0.0]
            for v in obj.data.vertices]  # a few entries per splat: vertex groups have no bulk read
    unbound = [i for i, row in enumerate(rows) if not row]
    if unbound:
        raise TrackInputError(f"{len(unbound)} splats of {obj.name!r} are in no bone's vertex "
                              f"group (first: splat {unbound[0]}), so the rig cannot move them: "
                              f"rig {obj.name!r} again")
    stray = max(b for row in rows for b, _ in row)
    if stray >= count:
        raise TrackInputError(f"vertex group {bone_name(stray)} of {obj.name!r} has no bone in "
                              f"{arm_obj.name!r}: rig {obj.name!r} again")
    k = max(len(row) for row in rows)
    indices = np.zeros((len(rows), k), dtype=np.int32)
    weights = np.zeros((len(rows), k), dtype=np.float64)
    for i, row in enumerate(rows):
        indices[i, :len(row)] = [b for b, _ in row]
        weights[i, :len(row)] = [w for _, w in row]
    weights /= weights.sum(axis=1, keepdims=True)
    radius = float(arm_obj.get("spectralsplats_radius", 1.0))
    return Rig(control_points, indices, weights.astype(np.float32), radius)


def rest_matrix_world(obj) -> np.ndarray:
    """obj's object-to-world matrix [4, 4] at rest: where a rigid bake keyed its transform,
    the basis it had before that bake (bake.py keeps it), else its matrix_world now."""
    rest = obj.get("spectralsplats_rest_basis")
    if rest is None:
        return np.array(obj.matrix_world, dtype=float)
    basis = np.array(rest, dtype=float).reshape(4, 4)
    if obj.parent is None:
        return basis
    parent = np.array(obj.parent.matrix_world, dtype=float)
    return parent @ np.array(obj.matrix_parent_inverse, dtype=float) @ basis


def _is_animated(obj) -> bool:
    """Whether obj (or a parent, or its camera data) may move over time."""
    while obj is not None:
        for owner in (obj, obj.data):
            anim = getattr(owner, "animation_data", None)
            if anim is not None and (anim.action is not None or len(anim.drivers) or
                                     len(anim.nla_tracks)):
                return True
        if len(obj.constraints):
            return True
        obj = obj.parent
    return False


def frame_cameras(cam_obj, scene, frames: list[int]):
    """The camera (BlenderCamera) at the current frame, and one per frame [F] where the
    camera is animated (None where it equals the first). The scene's current frame is
    restored afterwards."""
    camera = blender_camera_from_object(cam_obj, scene)
    if not _is_animated(cam_obj):
        return camera, [None] * len(frames)
    current, subframe = scene.frame_current, scene.frame_subframe
    per_frame = []
    try:
        for f in frames:
            scene.frame_set(f)
            per_frame.append(blender_camera_from_object(cam_obj, scene))
    finally:
        scene.frame_set(current, subframe=subframe)
    first = per_frame[0]
    return first, [None if c == first else c for c in per_frame]


def job_settings(settings) -> JobSettings:
    """The Track panel's settings (track_settings.SpectralSplatsTrackSettings) as JobSettings:
    resolution 0 means the footage's own size; iterations 0 keeps the preset's."""
    config = {"iterations": int(settings.iterations)} if settings.iterations > 0 else {}
    return JobSettings(model=settings.model, loss=settings.loss, preset=settings.preset,
                       device=settings.device,
                       resolution=int(settings.resolution) or None, config=config,
                       background=settings.background, appearance=settings.appearance)


def _source(frame) -> JobSource:
    """A StripFrame as the job's source: a movie frame or an image file."""
    return JobSource(frame.path, frame.index if frame.kind == "movie" else None)


def job_folder_name(obj) -> str:
    """A folder name for obj's job: its name with anything but letters, digits, '-', '_'
    and '.' replaced by '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", obj.name).strip(".") or "splats"


def build_job(context, inputs, settings) -> tuple[Job, object, Rig]:
    """(job, splats, rig) for resolved TrackInputs (track_settings.resolve_inputs) and the
    Track panel's settings. Raises TrackInputError, StripError or CameraError with advice."""
    scene = context.scene
    obj = inputs.target
    splats = splats_from_object(obj)
    job_setup = job_settings(settings)
    if find_rig(obj) is None and job_setup.model == "rigid":
        rig = build_rig(splats.means, 1)  # the rigid model moves the object, not bones
    else:
        rig = rig_from_armature(obj)
    if len(rig.indices) != len(splats):
        raise TrackInputError(f"the rig binds {len(rig.indices)} splats but {obj.name!r} holds "
                              f"{len(splats)}: rig it again")
    footage = strip_frames(inputs.strip, inputs.first, inputs.last)
    camera, cameras = frame_cameras(inputs.camera, scene, [f.scene_frame for f in footage])
    mattes = plates = [None] * len(footage)
    if inputs.matte_strip is not None:  # the matte strip's own timing: its offsets honoured
        mattes = [JobMatte(_source(f), settings.matte_channel)
                  for f in strip_frames(inputs.matte_strip, inputs.first, inputs.last)]
    if inputs.clean_plate_strip is not None:
        plates = [_source(f) for f in strip_frames(inputs.clean_plate_strip, inputs.first,
                                                   inputs.last)]
    frames = [JobFrame(scene_frame=f.scene_frame, source=_source(f), matte=matte, camera=cam,
                       clean_plate=plate)
              for f, cam, matte, plate in zip(footage, cameras, mattes, plates)]
    meta = {"object": obj.name, "strip": inputs.strip.name, "camera": inputs.camera.name,
            "blend": context.blend_data.filepath}
    job = Job(asset=JobAsset(matrix_world=rest_matrix_world(obj)), camera=camera,
              frames=tuple(frames), settings=job_setup, meta=meta)
    return job, splats, rig


def _digest(folder: Path) -> str | None:
    """A digest of the files that define the job, None if one is missing."""
    h = hashlib.sha256()
    for name in JOB_FILES:
        path = folder / name
        if not path.is_file():
            return None
        h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def write_scene_job(context, inputs, settings) -> SceneJob:
    """Writes the job for TrackInputs into <output_dir>/<object name>/.

    A result.npz left there by an earlier run of the very same job (same job.json, asset
    and rig, byte for byte) stays, so the worker resumes it; any other earlier result is
    removed, so a new job never continues an old one.
    """
    job, splats, rig = build_job(context, inputs, settings)
    folder = Path(inputs.output_dir) / job_folder_name(inputs.target)
    before = _digest(folder)
    write_job(folder, job, splats, rig)
    result = folder / job.outputs.result
    resumable = before is not None and before == _digest(folder) and result.is_file()
    if not resumable:
        result.unlink(missing_ok=True)
    return SceneJob(folder, job, resumable)


__all__ = ["SceneJob", "rig_from_armature", "rest_matrix_world", "frame_cameras", "job_settings",
           "job_folder_name", "build_job", "write_scene_job"]
