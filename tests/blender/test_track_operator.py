"""Track through the operator in background mode, with a real worker process: a synthetic
asset moved by a known motion and filmed at 48 x 48 px; the baked keys replay the result
exactly through the Armature modifier and fit the footage better than the rest pose. Clear
errors for a bad strip, no camera, a missing movie, no rig and an unusable interpreter.

The shot (``make_shot``) and the clip writers: tests/support/blender_scene.py.
"""

from __future__ import annotations


import bpy
import numpy as np
import pytest

from spectralsplats_addon.blender.armature_rig import find_rig
from spectralsplats_addon.blender.job_from_scene import rig_from_armature
from spectralsplats_addon.blender.keyframes import fcurves_of
from spectralsplats_addon.blender.point_object import splats_from_object
from spectralsplats_addon.blender.track_operator import start_session
from spectralsplats_addon.engine.errors import WorkerError
from spectralsplats_addon.engine.loss.metrics import psnr
from spectralsplats_addon.engine.result import TrackResult
from support.blender_scene import (CONTROL_POINTS, SIZE, SPLATS, evaluated_positions, make_shot,
                                   posed_means, render_frames, scene_state, write_asset)


# -- the whole path -------------------------------------------------------------------------

def test_track_bakes_motion_that_replays_the_result_and_fits_the_footage(addon, tmp_path, capfd):
    shot = make_shot(tmp_path)
    assert bpy.ops.spectralsplats.track() == {"FINISHED"}
    out = capfd.readouterr().out
    assert "SpectralSplats: Tracking 3 frames on cpu" in out
    assert "SpectralSplats: frame 3 done (3/3), PSNR" in out

    result = TrackResult.load(tmp_path / "out" / "asset" / "frames_1-3" / "result.npz")
    assert result.complete and result.model == "direct"
    assert result.frames.tolist() == shot.frames
    assert result.rotations.shape == (3, CONTROL_POINTS, 4)
    assert result.translations.shape == (3, CONTROL_POINTS, 3)

    arm_obj = find_rig(shot.obj)
    fcurves = fcurves_of(arm_obj, "unused")
    assert len(fcurves) == CONTROL_POINTS * 7  # location xyz + rotation wxyz per bone
    for fc in fcurves:
        assert [k.co[0] for k in fc.keyframe_points] == [float(f) for f in shot.frames]

    engine = posed_means(shot.splats, shot.rig, result.rotations, result.translations)
    for f, frame in enumerate(shot.frames):
        bpy.context.scene.frame_set(frame)
        error = np.abs(evaluated_positions(shot.obj) - engine[f]).max() / shot.size
        assert error < 1e-4, f"frame {frame}: {error:.2e} of the asset size"

    tracked = render_frames(shot.splats, engine, shot.camera)
    tracked_psnr = np.array([psnr(r.permute(2, 0, 1), t.permute(2, 0, 1))
                             for r, t in zip(tracked, shot.targets)])
    rest_psnr = shot.rest_psnr()
    assert (tracked_psnr > rest_psnr + 5.0).all(), (tracked_psnr, rest_psnr)
    assert (result.psnr > rest_psnr + 5.0).all(), (result.psnr, rest_psnr)  # against the movie
    assert not bpy.context.window_manager.spectralsplats_track_running


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("problem, message", [
    ("bad strip", r"there is no strip named 'nope' in this scene's sequencer"),
    ("no camera", r"the scene has no camera: add one \(Add > Camera\)"),
    ("missing movie", r"the movie of strip 'clip' is missing: .*clip\.mp4; relink it"),
    ("no rig", r"'asset' has no rig, which the direct model moves: use Rig Gaussian Splats "
               r"first, or set Model to Rigid"),
])
def test_bad_inputs_cancel_with_advice_and_change_nothing(addon, tmp_path, problem, message):
    shot = make_shot(tmp_path, frames=2)
    scene = bpy.context.scene
    if problem == "bad strip":
        scene.spectralsplats_track.strip = "nope"
    elif problem == "no camera":
        scene.camera = None
    elif problem == "missing movie":
        shot.movie.unlink()
    elif problem == "no rig":
        from spectralsplats_addon.blender.armature_rig import remove_rig

        remove_rig(shot.obj)
    before = scene_state()
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.spectralsplats.track()
    assert scene_state() == before
    assert not (tmp_path / "out" / "asset" / "frames_1-2" / "worker.log").exists()  # no worker


def test_an_interpreter_without_torch_is_refused_with_advice(addon, tmp_path):
    make_shot(tmp_path, frames=2)
    with pytest.raises(WorkerError, match=r"the tracker interpreter /nonexistent/python is not "
                                          r"usable: it cannot be run .*Set up Tracker Environment"):
        start_session(bpy.context, python="/nonexistent/python")
    assert not bpy.context.window_manager.spectralsplats_track_running


def test_a_worker_error_reaches_the_user_and_the_scene_stays(addon, tmp_path):
    shot = make_shot(tmp_path, frames=2)
    shot.movie.write_bytes(b"not a movie any more")  # only the worker's decoder finds out
    before = scene_state()
    with pytest.raises(RuntimeError, match=r"(?s)Tracking failed: .*clip\.mp4"):
        bpy.ops.spectralsplats.track()
    assert scene_state() == before
    assert not bpy.context.window_manager.spectralsplats_track_running


def test_a_camera_that_does_not_fit_the_footage_is_refused_before_the_worker(addon, tmp_path):
    make_shot(tmp_path, frames=2)
    bpy.context.scene.render.resolution_x = 2 * SIZE
    before = scene_state()
    with pytest.raises(RuntimeError, match=r"the camera 'Cam' renders 96 x 48 \(aspect 2\.000\) "
                                           r"but strip 'clip' is 48 x 48 \(aspect 1\.000\): set "
                                           r"Output Properties > Format > Resolution to 48 x 48, "
                                           r"or to the same aspect"):
        bpy.ops.spectralsplats.track()
    assert scene_state() == before
    assert not bpy.context.window_manager.spectralsplats_track_running


# -- the job written from the scene -----------------------------------------------------------

def test_the_rig_read_back_from_blender_is_the_engine_rig(addon, tmp_path):
    from spectralsplats_addon.engine.rig import build_rig

    write_asset(tmp_path / "asset.ply")
    bpy.ops.spectralsplats.import_ply(filepath=str(tmp_path / "asset.ply"))
    obj = bpy.context.view_layer.objects.active
    bpy.ops.spectralsplats.rig(control_points=CONTROL_POINTS)
    read, built = rig_from_armature(obj), build_rig(splats_from_object(obj).means, CONTROL_POINTS)
    np.testing.assert_array_equal(read.control_points, built.control_points)
    order_read, order_built = np.argsort(read.indices, 1), np.argsort(built.indices, 1)
    np.testing.assert_array_equal(np.take_along_axis(read.indices, order_read, 1),
                                  np.take_along_axis(built.indices, order_built, 1))
    np.testing.assert_allclose(np.take_along_axis(read.weights, order_read, 1),
                               np.take_along_axis(built.weights, order_built, 1), atol=1e-6)
    assert read.radius == pytest.approx(built.radius)


def test_an_unchanged_job_keeps_its_partial_result_and_a_changed_one_drops_it(addon, tmp_path):
    from spectralsplats_addon.blender.job_from_scene import write_scene_job
    from spectralsplats_addon.blender.track_settings import resolve_inputs

    make_shot(tmp_path, frames=2)
    settings = bpy.context.scene.spectralsplats_track

    def write():
        return write_scene_job(bpy.context, resolve_inputs(bpy.context, settings), settings)

    first = write()
    assert first.folder == tmp_path / "out" / "asset" / "frames_1-2" and not first.resumable
    assert [(f.scene_frame, f.source.index) for f in first.job.frames] == [(1, 0), (2, 1)]
    first.result_path.write_bytes(b"partial")
    assert write().resumable and first.result_path.read_bytes() == b"partial"
    settings.iterations += 1
    assert not write().resumable and not first.result_path.exists()


def test_the_rigid_model_needs_no_rig(addon, tmp_path):
    from spectralsplats_addon.blender.armature_rig import remove_rig
    from spectralsplats_addon.blender.job_from_scene import write_scene_job
    from spectralsplats_addon.blender.track_settings import resolve_inputs
    from spectralsplats_addon.engine.job import load_job

    shot = make_shot(tmp_path, frames=2)
    remove_rig(shot.obj)
    settings = bpy.context.scene.spectralsplats_track
    settings.model = "rigid"
    written = write_scene_job(bpy.context, resolve_inputs(bpy.context, settings), settings)
    loaded = load_job(written.folder)
    assert loaded.job.settings.model == "rigid" and loaded.rig.num_control_points == 1
    np.testing.assert_array_equal(loaded.rig.weights, np.ones((SPLATS, 1), dtype=np.float32))
