"""One check for Check Tracking Inputs and Track: every condition that Track, the job writer
or the worker would refuse, found before any work starts. Each message leads with the cause
and then the fix, in the words of the Track panel and Blender's own menus.

No torch: the engine modules used here (conventions, job, rig) are numpy-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..engine.conventions import ASPECT_TOLERANCE, camera_from_blender
from ..engine.errors import TrackInputError

MIN_RESOLUTION = 16  # the smallest longest side the tracker works at (job.json's minimum)


@dataclass
class CheckedInputs:
    """What passed the check: the resolved inputs and the job built from them."""

    inputs: object          # track_settings.TrackInputs
    job: object             # engine.job.Job
    splats: object          # engine.splats.Splats (numpy)
    rig: object             # engine.rig.Rig
    footage_size: tuple     # (width, height) of the strip's media, (0, 0) if Blender has none


def require_splats(obj) -> None:
    """An object with no splats cannot be rigged or tracked."""
    if len(obj.data.vertices) == 0:
        raise TrackInputError(f"{obj.name!r} holds no splats: import a .ply that has splats "
                              "(File > Import > Gaussian Splat), or pick another object")


def require_rig_for_model(obj, model: str) -> None:
    from .armature_rig import find_rig

    if model != "rigid" and find_rig(obj) is None:
        raise TrackInputError(f"{obj.name!r} has no rig, which the {model} model moves: use "
                              "Rig Gaussian Splats first, or set Model to Rigid")


def require_resolution(resolution: int) -> None:
    if 0 < resolution < MIN_RESOLUTION:
        raise TrackInputError(f"Resolution {resolution} px is too small to track: set "
                              f"Resolution to {MIN_RESOLUTION} or more (0 uses the footage's "
                              "own size)")


def footage_size(strip) -> tuple[int, int]:
    """(width, height) of the strip's media as Blender read it; (0, 0) when unknown."""
    element = strip.elements[0] if len(getattr(strip, "elements", ())) else None
    if element is None:
        return 0, 0
    return int(element.orig_width), int(element.orig_height)


def require_matching_aspect(job, inputs, size: tuple[int, int]) -> None:
    """The camera must frame the footage: the same aspect ratio (within 1 %)."""
    width, height = size
    if not width or not height:
        return
    camera = camera_from_blender(job.camera)
    aspect, footage = camera.width / camera.height, width / height
    if abs(aspect / footage - 1.0) > ASPECT_TOLERANCE:
        raise TrackInputError(
            f"the camera {inputs.camera.name!r} renders {camera.width} x {camera.height} "
            f"(aspect {aspect:.3f}) but strip {inputs.strip.name!r} is {width} x {height} "
            f"(aspect {footage:.3f}): set Output Properties > Format > Resolution to "
            f"{width} x {height}, or to the same aspect")


def check_tracking_inputs(context, settings) -> CheckedInputs:
    """Every check Track would make, in the order a user fixes them; raises ValueError or
    SpectralSplatsError (TrackInputError, StripError, CameraError) with the cause and fix."""
    from .job_from_scene import build_job
    from .track_settings import resolve_inputs

    inputs = resolve_inputs(context, settings)
    require_splats(inputs.target)
    require_rig_for_model(inputs.target, settings.model)
    require_resolution(int(settings.resolution))
    job, splats, rig = build_job(context, inputs, settings)
    size = footage_size(inputs.strip)
    require_matching_aspect(job, inputs, size)
    return CheckedInputs(inputs, job, splats, rig, size)


def ready_text(checked: CheckedInputs) -> str:
    """The one-line summary Check Tracking Inputs reports when all is well."""
    inputs, frames = checked.inputs, checked.job.frames
    camera = camera_from_blender(checked.job.camera)
    first, last = frames[0].source, frames[-1].source
    if first.kind == "image":
        footage = f"images {Path(first.path).name} to {Path(last.path).name}"
    else:
        footage = f"movie frames {first.index}-{last.index}"
    return (f"Ready: {len(frames)} frames ({inputs.first}-{inputs.last}) of "
            f"{inputs.strip.name!r} ({footage}) seen by {inputs.camera.name!r} at "
            f"{camera.width} x {camera.height}; output in {inputs.output_dir}")


__all__ = ["CheckedInputs", "check_tracking_inputs", "ready_text", "require_splats",
           "footage_size"]
