"""Lock and refine with a real worker: a shot tracked over frames 1-6, frames 2 and 6 locked,
Refine from frame 4 re-tracks 3-5 into its own result, keeps the locked keys, and blends into
them so that no key jumps at the range's edges."""

from __future__ import annotations

import bpy
import pytest

from spectralsplats_addon.blender.armature_rig import bone_name, find_rig
from spectralsplats_addon.blender.keyframes import fcurves_of
from spectralsplats_addon.blender.refine_operator import refine_range
from spectralsplats_addon.engine.result import TrackResult
from support.blender_scene import make_shot


def keyed(fc) -> dict[float, float]:
    return {k.co[0]: k.co[1] for k in fc.keyframe_points}


def test_refine_between_locked_frames_keeps_them_and_blends_into_them(addon, tmp_path, capfd):
    shot = make_shot(tmp_path, frames=6, iterations=12)
    assert bpy.ops.spectralsplats.track() == {"FINISHED"}
    fcurves = fcurves_of(find_rig(shot.obj), "unused")
    fc = fcurves.find(f'pose.bones["{bone_name(1)}"].location', index=1)
    before = keyed(fc)
    assert sorted(before) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]

    scene = bpy.context.scene
    for frame in (2, 6):
        scene.frame_set(frame)
        assert bpy.ops.spectralsplats.lock_frame() == {"FINISHED"}
    assert "Locked frame 6 of 'asset' (locked frames: 2, 6)" in capfd.readouterr().out
    scene.frame_set(4)
    assert bpy.ops.spectralsplats.refine() == {"FINISHED"}

    whole = TrackResult.load(tmp_path / "out" / "asset" / "frames_1-6" / "result.npz")
    part = TrackResult.load(tmp_path / "out" / "asset" / "frames_3-5" / "result.npz")
    assert whole.frames.tolist() == [1, 2, 3, 4, 5, 6]  # the first run's result is kept
    assert part.frames.tolist() == [3, 4, 5]
    after = keyed(fc)
    assert after[2.0] == before[2.0] and after[6.0] == before[6.0]  # locked: untouched
    assert after[1.0] == before[1.0]                                 # outside the range
    new = part.translations[:, 1, 1]
    # frames 3, 4, 5 lie 1, 2, 1 frames from the anchors 2 and 6: new weights 1/3, 2/3, 1/3
    for f, weight, value in zip((3.0, 4.0, 5.0), (1 / 3, 2 / 3, 1 / 3), new):
        assert after[f] == pytest.approx(weight * value + (1 - weight) * before[f], abs=1e-5)


def test_the_refine_range_lies_between_the_locked_frames_around_the_current_one():
    assert refine_range([2, 6], 4, 1, 10) == (3, 5)
    assert refine_range([2, 6], 8, 1, 10) == (7, 10)
    assert refine_range([], 4, 1, 10) == (1, 10)


def test_refine_on_a_locked_frame_or_without_a_fitting_camera_says_why(addon, tmp_path):
    make_shot(tmp_path, frames=3)
    scene = bpy.context.scene
    scene.frame_set(2)
    assert bpy.ops.spectralsplats.lock_frame() == {"FINISHED"}
    with pytest.raises(RuntimeError, match=r"frame 2 is locked: move to a frame between locked "
                                           r"frames, or unlock it \(Lock Frame\)"):
        bpy.ops.spectralsplats.refine()
    scene.frame_set(3)
    scene.render.resolution_x *= 2  # Track refuses: Refine passes its reason on
    with pytest.raises(RuntimeError, match=r"the camera 'Cam' renders 96 x 48 \(aspect 2\.000\) "
                                           r"but strip 'clip' is 48 x 48"):
        bpy.ops.spectralsplats.refine()
