"""Preview Fit: the tracker's render over the plate at the current frame, as an image.

The newest run whose result holds the current frame (job_from_scene.run_folder) is rendered
by the tracker's interpreter (engine/worker/preview.py) into preview_<frame>.png in that
run's folder; the image "SpectralSplats Preview" shows it, in every open Image Editor.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import bpy
from bpy.types import Operator

PREVIEW_IMAGE = "SpectralSplats Preview"
PREVIEW_SECONDS = 300.0  # a first run may compile the renderer


def run_for_frame(output_dir: str, obj, frame: int) -> Path | None:
    """The newest run folder of obj whose result holds frame, or None."""
    from ..engine.result import ResultError, TrackResult
    from .job_from_scene import job_folder_name

    runs = []
    for path in (Path(output_dir) / job_folder_name(obj)).glob("frames_*/result.npz"):
        try:
            frames = TrackResult.load(path).frames
        except (ResultError, OSError):
            continue
        if frame in frames.tolist():
            runs.append((path.stat().st_mtime, path.parent))
    return max(runs)[1] if runs else None


def show_image(context, path: Path):
    """Loads path as the preview image (reloading it if present) and shows it in every open
    Image Editor."""
    image = bpy.data.images.get(PREVIEW_IMAGE)
    if image is None:
        image = bpy.data.images.load(str(path))
        image.name = PREVIEW_IMAGE
    else:
        image.filepath = str(path)
        image.reload()
    screen = getattr(context, "screen", None)
    for area in (screen.areas if screen is not None else ()):
        if area.type == "IMAGE_EDITOR":
            area.spaces.active.image = image
    return image


class SPECTRALSPLATS_OT_preview_fit(Operator):
    """Show the tracker's render over the plate at the current frame (image "SpectralSplats
    Preview" in the Image Editor), with its fit PSNR"""

    bl_idname = "spectralsplats.preview_fit"
    bl_label = "Preview Fit"

    @classmethod
    def poll(cls, context):
        from .refine_operator import _poll_target

        return _poll_target(cls, context)

    def execute(self, context):
        from ..engine.errors import SpectralSplatsError
        from .preferences import tracker_python
        from .refine_operator import _target
        from .track_settings import output_folder
        from .worker_process import check_tracker_python, preview_command

        obj, frame = _target(context), context.scene.frame_current
        folder = run_for_frame(output_folder(context.scene.spectralsplats_track), obj, frame)
        if folder is None:
            self.report({"ERROR"}, f"frame {frame} of {obj.name!r} has no tracked result: "
                                   "track it first, or move to a tracked frame")
            return {"CANCELLED"}
        out = folder / f"preview_{frame}.png"
        try:
            python = check_tracker_python(tracker_python(context))
            done = subprocess.run(preview_command(python, folder, frame, out),
                                  capture_output=True, text=True, timeout=PREVIEW_SECONDS,
                                  stdin=subprocess.DEVNULL, cwd=str(folder))
        except (SpectralSplatsError, OSError, subprocess.TimeoutExpired) as error:
            self.report({"ERROR"}, f"the preview could not be made: {error}")
            return {"CANCELLED"}
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            self.report({"ERROR"}, lines[-1] if lines else f"the preview failed "
                                                           f"(exit code {done.returncode})")
            return {"CANCELLED"}
        event = json.loads(done.stdout.strip().splitlines()[-1])
        show_image(context, out)
        self.report({"INFO"}, f"Frame {frame}: the tracker's render over the plate, fit PSNR "
                              f"{event['psnr']:.1f} dB (image {PREVIEW_IMAGE!r})")
        return {"FINISHED"}


classes = (SPECTRALSPLATS_OT_preview_fit,)
