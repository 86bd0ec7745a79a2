"""Export Shots for the Farm and Import Farm Results with the real bpy module: two rigged
splat objects become two job folders and a shot list; one is tracked as a farm task does
(the worker in its own process) and baked back, the other is reported as not yet run."""

from __future__ import annotations

import bpy
import numpy as np

from spectralsplats_addon.blender.armature_rig import find_rig
from spectralsplats_addon.blender.keyframes import fcurves_of
from spectralsplats_addon.engine.job import read_job
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.farm import read_shot_list, track_shot
from support.blender_scene import CONTROL_POINTS, make_shot


def test_export_shots_then_import_the_finished_results(addon, tmp_path, capfd):
    shot = make_shot(tmp_path, frames=2, iterations=6)
    assert bpy.ops.spectralsplats.import_ply(filepath=str(tmp_path / "asset.ply")) == \
        {"FINISHED"}
    second = bpy.context.view_layer.objects.active
    assert bpy.ops.spectralsplats.rig(control_points=CONTROL_POINTS) == {"FINISHED"}
    for obj in bpy.context.view_layer.objects:
        obj.select_set(obj in (shot.obj, second))
    bpy.context.view_layer.objects.active = shot.obj

    assert bpy.ops.spectralsplats.export_shots() == {"FINISHED"}
    out = tmp_path / "out"
    run = f"frames_{shot.frames[0]}-{shot.frames[-1]}"  # each tracked range has its folder
    assert (out / "shots.txt").read_text() == f"{shot.obj.name}/{run}\n{second.name}/{run}\n"
    first_folder, second_folder = read_shot_list(out / "shots.txt")
    for folder, obj in ((first_folder, shot.obj), (second_folder, second)):
        job = read_job(folder)
        assert job.meta["object"] == obj.name and job.meta["strip"] == "clip"
        assert [f.scene_frame for f in job.frames] == shot.frames
        assert job.settings.model == "direct" and job.settings.config == {"iterations": 6}

    outcome = track_shot(first_folder)
    assert outcome.frames_done == 2
    result = TrackResult.load(first_folder / "result.npz")

    capfd.readouterr()
    assert bpy.ops.spectralsplats.import_results() == {"FINISHED"}
    said = capfd.readouterr()
    assert f"{second.name} ({run}): no result yet" in said.out + said.err
    assert f"Baked 1 of 2 shot(s): {shot.obj.name}" in said.out + said.err
    fcurves = fcurves_of(find_rig(shot.obj), "unused")
    assert len(fcurves) == CONTROL_POINTS * 7
    for fc in fcurves:
        assert [k.co[0] for k in fc.keyframe_points] == [float(f) for f in shot.frames]
    location = next(fc for fc in fcurves if fc.data_path.endswith("location")
                    and fc.array_index == 0)
    assert any(abs(k.co[1]) > 1e-6 for k in location.keyframe_points)
    assert np.isfinite(result.translations).all()
    assert find_rig(second).animation_data is None or \
        find_rig(second).animation_data.action is None


def test_export_without_a_selected_splat_object_says_so(addon, tmp_path):
    make_shot(tmp_path, frames=2, iterations=6)
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    bpy.context.view_layer.objects.active = None
    try:
        bpy.ops.spectralsplats.export_shots()
    except RuntimeError as error:
        assert "no splat object is selected" in str(error)
    else:
        raise AssertionError("the export ran without a splat object")
    assert not (tmp_path / "out" / "shots.txt").exists()


def test_import_without_a_shot_list_names_the_fix(addon, tmp_path):
    make_shot(tmp_path, frames=2, iterations=6)
    try:
        bpy.ops.spectralsplats.import_results()
    except RuntimeError as error:
        assert "no shot list at" in str(error) and "export shots for the farm first" in str(error)
    else:
        raise AssertionError("the import ran without a shot list")
