"""scripts/headless_track.py with the bpy module in a plain Python process: open a .blend,
import and rig the asset, add the movie as a strip, track, bake, save; and a clear failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np

from spectralsplats_addon.blender.armature_rig import find_rig
from spectralsplats_addon.blender.camera_data import blender_camera_from_object
from spectralsplats_addon.blender.keyframes import fcurves_of
from spectralsplats_addon.engine.conventions import camera_from_blender
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.rig import build_rig
from support.blender_scene import (CONTROL_POINTS, add_camera, evaluated_positions,
                                   identity_rotations, known_translations, posed_means,
                                   render_frames, write_asset, write_movie)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "headless_track.py"


def headless(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_plain_python_tracks_bakes_and_saves(addon, tmp_path):
    scene = bpy.context.scene
    cam = add_camera(scene)
    camera = camera_from_blender(blender_camera_from_object(cam, scene))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    splats = write_asset(tmp_path / "asset.ply")
    rig = build_rig(splats.means, CONTROL_POINTS)  # the rig the script will build
    motion = known_translations(rig, 2)
    write_movie(render_frames(splats, posed_means(splats, rig, identity_rotations(2, len(
        rig.control_points)), motion), camera), tmp_path / "clip.mp4")

    done = headless("--blend", tmp_path / "scene.blend", "--ply", tmp_path / "asset.ply",
                    "--video", tmp_path / "clip.mp4", "--frames", "1-2", "--model", "direct",
                    "--preset", "fast", "--iterations", 30, "--control-points", CONTROL_POINTS,
                    "--resolution", 0, "--device", "cpu", "--output-dir", tmp_path / "out",
                    "--out", tmp_path / "tracked.blend")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SpectralSplats: frame 2 done (2/2), PSNR" in done.stdout
    assert f"headless_track: saved {tmp_path / 'tracked.blend'}" in done.stdout

    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "tracked.blend"))
    obj = bpy.data.objects["asset"]
    assert bpy.context.scene.sequence_editor.strips_all["clip"].type == "MOVIE"
    arm_obj = find_rig(obj)
    assert len(arm_obj.data.bones) == CONTROL_POINTS
    fcurves = fcurves_of(arm_obj, "unused")
    assert len(fcurves) == CONTROL_POINTS * 7
    assert {tuple(k.co[0] for k in fc.keyframe_points) for fc in fcurves} == {(1.0, 2.0)}
    result = TrackResult.load(tmp_path / "out" / "asset" / "frames_1-2" / "result.npz")
    engine = posed_means(splats, rig, result.rotations, result.translations)
    size = float(np.linalg.norm(splats.means.max(0) - splats.means.min(0)))
    for f, frame in enumerate((1, 2)):
        bpy.context.scene.frame_set(frame)
        assert np.abs(evaluated_positions(obj) - engine[f]).max() < 1e-4 * size


def test_a_missing_object_fails_with_advice_and_saves_nothing(tmp_path):
    done = headless("--object", "Missing", "--out", tmp_path / "x.blend", timeout=60)
    assert done.returncode == 1
    assert "headless_track: there is no object named 'Missing': check the name, or give --ply " \
           "to import the splats" in done.stderr
    assert not (tmp_path / "x.blend").exists()


def test_inside_blender_only_the_arguments_after_the_separator_are_read(tmp_path):
    """`blender -b scene.blend --python headless_track.py -- ARGS` leaves Blender's own
    arguments in sys.argv before `--`; the script must parse only ARGS."""
    done = headless("-b", "scene.blend", "--python", "scripts/headless_track.py", "--",
                    "--object", "Missing", "--out", tmp_path / "x.blend", timeout=60)
    assert done.returncode == 1
    assert "there is no object named 'Missing'" in done.stderr
    assert not (tmp_path / "x.blend").exists()
