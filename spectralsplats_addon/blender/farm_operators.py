"""Shots for the farm: export the selected splat objects' tracking jobs with a shot list for
``spectralsplats batch`` (docs/farm.md), and bake every finished result back.

    Export Shots for the Farm:  <Output>/<object>/ (job.json, asset.ply, rig.npz) for each
                                selected splat object, and <Output>/shots.txt listing them
    Import Farm Results:        every complete result.npz of <Output>/shots.txt baked onto
                                the object its job names (job.json meta "object")

Each job holds the Track panel's strip, camera, frame range and settings, as Track writes
them; only the splat object differs. The folders are the ones Track uses, so a shot tracked
on the farm can also be resumed or baked from the panel.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import bpy
from bpy.types import Operator

from .operator_errors import reports_errors

SHOT_LIST = "shots.txt"


def selected_splat_objects(context) -> list:
    """The selected splat objects, the active one first; the active one alone if none."""
    from .point_object import is_splat_object

    active = context.active_object
    chosen = [obj for obj in context.selected_objects if is_splat_object(obj)]
    if is_splat_object(active):
        chosen = [active] + [obj for obj in chosen if obj != active]
    return chosen


def export_shots(context) -> tuple[Path, list[Path]]:
    """Write each selected splat object's job and the shot list; (list path, job folders).
    Every shot is checked (inputs, rig) before anything is written."""
    from ..engine.errors import TrackInputError
    from ..farm.shots import write_shot_list
    from .armature_rig import find_rig
    from .job_from_scene import write_scene_job
    from .track_settings import resolve_inputs

    settings = context.scene.spectralsplats_track
    objects = selected_splat_objects(context)
    if not objects:
        raise TrackInputError("no splat object is selected: select the splat objects to send "
                              "to the farm")
    inputs = resolve_inputs(context, settings)
    unrigged = [obj.name for obj in objects if find_rig(obj) is None]
    if unrigged and settings.model != "rigid":
        raise TrackInputError(f"{', '.join(map(repr, unrigged))} have no rig, which the "
                              f"{settings.model} model moves: use Rig Gaussian Splats first")
    folders = [write_scene_job(context, replace(inputs, target=obj), settings).folder
               for obj in objects]
    return write_shot_list(Path(inputs.output_dir) / SHOT_LIST, folders), folders


def import_results(context, shot_list: Path) -> tuple[list[str], list[str]]:
    """Bake every complete result of the shot list onto its object; (baked object names,
    one line per shot left as it was, saying why)."""
    from ..engine.job import read_job
    from ..engine.result import ResultError, TrackResult
    from ..farm.shots import read_shot_list
    from .bake import BakeError, bake_result

    baked, skipped = [], []
    for folder in read_shot_list(shot_list):
        job = read_job(folder)
        name = job.meta.get("object")
        obj = bpy.data.objects.get(name) if name else None
        path = folder / job.outputs.result
        shot = f"{name} ({folder.name})" if name else str(folder)  # one folder per range
        if obj is None:
            skipped.append(f"{shot}: its object is not in this file")
        elif not path.is_file():
            skipped.append(f"{shot}: no result yet")
        else:
            try:
                result = TrackResult.load(path)
            except ResultError as error:
                skipped.append(f"{shot}: {error}")
                continue
            if not result.complete:
                skipped.append(f"{shot}: partial ({result.num_frames} of "
                               f"{len(job.frames)} frames); run the batch again to finish it")
                continue
            try:
                bake_result(obj, result)
            except BakeError as error:
                skipped.append(f"{shot}: {error}")
                continue
            baked.append(obj.name)
    return baked, skipped


class SPECTRALSPLATS_OT_export_shots(Operator):
    """Write the tracking job of each selected splat object (the Track panel's strip, camera,
    frames and settings) and a shot list, shots.txt, for spectralsplats batch on a farm"""

    bl_idname = "spectralsplats.export_shots"
    bl_label = "Export Shots for the Farm"

    @reports_errors
    def execute(self, context):
        try:
            shot_list, folders = export_shots(context)
        except OSError as error:
            self.report({"ERROR"}, f"could not write the shots ({error}): choose another "
                                   "Output folder in the Track panel")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported {len(folders)} shot(s); on the farm run: "
                              f"spectralsplats batch {shot_list}")
        return {"FINISHED"}


class SPECTRALSPLATS_OT_import_results(Operator):
    """Bake every finished farm result listed in the Output folder's shots.txt onto its
    splat object (shots without a complete result are left as they are)"""

    bl_idname = "spectralsplats.import_results"
    bl_label = "Import Farm Results"
    bl_options = {"REGISTER", "UNDO"}

    @reports_errors
    def execute(self, context):
        from .track_settings import output_folder

        shot_list = Path(output_folder(context.scene.spectralsplats_track)) / SHOT_LIST
        if not shot_list.is_file():
            self.report({"ERROR"}, f"no shot list at {shot_list}: export shots for the farm "
                                   "first, or set the Track panel's Output to their folder")
            return {"CANCELLED"}
        baked, skipped = import_results(context, shot_list)
        for line in skipped:
            self.report({"WARNING"}, line)
        self.report({"INFO"} if baked else {"WARNING"},
                    f"Baked {len(baked)} of {len(baked) + len(skipped)} shot(s)"
                    + (f": {', '.join(baked)}" if baked else ""))
        return {"FINISHED"} if baked else {"CANCELLED"}


def menu_func(self, context):
    self.layout.operator(SPECTRALSPLATS_OT_export_shots.bl_idname)
    self.layout.operator(SPECTRALSPLATS_OT_import_results.bl_idname)


classes = (SPECTRALSPLATS_OT_export_shots, SPECTRALSPLATS_OT_import_results)

menus = ((bpy.types.VIEW3D_MT_object, menu_func),)
