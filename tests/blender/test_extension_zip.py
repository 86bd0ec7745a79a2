"""The extension zip: built and validated with Blender's own tool, installed into a fresh
user folder with bpy.ops.extensions.package_install_files, enabled, and used (in a separate
Blender process) to import a real .ply, and to rig, track and bake a synthetic clip through
the installed operators, whose worker runs the installed engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import bpy
import pytest

from support.extension_build import load_build_script

ROOT = Path(__file__).resolve().parents[2]
DONUT = ROOT.parent / "shared" / "data" / "real_splats" / "donut.ply"




INSTALL_AND_IMPORT = textwrap.dedent("""
    import json, sys
    import bpy
    zip_path, ply_path = sys.argv[1], sys.argv[2]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True)
    op_class = bpy.types.SPECTRALSPLATS_OT_import_ply
    imported = bpy.ops.spectralsplats.import_ply(filepath=ply_path)
    obj = bpy.context.view_layer.objects.active
    import plyfile
    print(json.dumps({
        "install": sorted(result),
        "addons": sorted(bpy.context.preferences.addons.keys()),
        "operator_module": op_class.__module__,
        "import": sorted(imported),
        "object": obj.name,
        "points": len(obj.data.vertices),
        "attributes": sorted(a.name for a in obj.data.attributes),
        "plyfile": plyfile.__file__,
        "torch_loaded": "torch" in sys.modules,
    }))
""")


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    """The extension zip, built and validated once for this module."""
    return load_build_script().build(tmp_path_factory.mktemp("dist"))  # raises if it fails


def test_zip_builds_validates_installs_and_imports(tmp_path, built_zip):
    zip_path = built_zip
    names = zipfile.ZipFile(zip_path).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "engine/io/__init__.py" in names and "blender/import_operator.py" in names
    assert any(n.startswith("wheels/plyfile-") and n.endswith(".whl") for n in names)
    assert not any("__pycache__" in n for n in names)

    user = tmp_path / "blender_user"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(user))
    done = subprocess.run([sys.executable, "-c", INSTALL_AND_IMPORT, str(zip_path), str(DONUT)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["install"] == ["FINISHED"]
    assert "bl_ext.user_default.spectralsplats" in report["addons"]
    # The operator that ran is the installed copy, not the checkout.
    assert report["operator_module"].startswith("bl_ext.user_default.spectralsplats.")
    installed = user / "extensions" / "user_default" / "spectralsplats"
    assert (installed / "blender_manifest.toml").exists()
    assert report["import"] == ["FINISHED"] and report["object"] == "donut"
    assert report["points"] == 45624
    assert {"opacity", "scale", "rotation", "sh_0", "Col"} <= set(report["attributes"])
    assert report["torch_loaded"] is False  # the Blender side never loads torch


INSTALL_AND_TRACK = textwrap.dedent("""
    import json, sys
    import bpy
    from mathutils import Matrix
    zip_path, shot = sys.argv[1], json.loads(sys.argv[2])
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                             enable_on_install=True)
    package = bpy.types.SPECTRALSPLATS_OT_track.__module__.rsplit(".", 2)[0]
    bpy.ops.spectralsplats.import_ply(filepath=shot["ply"])
    obj = bpy.context.view_layer.objects.active
    bpy.ops.spectralsplats.rig(control_points=shot["control_points"])
    scene = bpy.context.scene
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.matrix_world = Matrix(shot["camera"])
    scene.camera = cam
    scene.render.resolution_x = scene.render.resolution_y = shot["size"]
    scene.sequence_editor_create().strips.new_movie("clip", shot["movie"], 1, 1)
    settings = scene.spectralsplats_track
    settings.strip, settings.preset, settings.iterations = "clip", "fast", 20
    settings.resolution, settings.device, settings.output_dir = 0, "cpu", shot["out"]
    tracked = bpy.ops.spectralsplats.track()
    fcurves = sys.modules[package + ".blender.keyframes"].fcurves_of(obj.children[0], "x")
    print(json.dumps({
        "track": sorted(tracked),
        "package": package,
        "worker_package_dir": str(sys.modules[package + ".blender.worker_process"].PACKAGE_DIR),
        "fcurves": len(fcurves),
        "keyed_frames": sorted({k.co[0] for fc in fcurves for k in fc.keyframe_points}),
        "torch_loaded": "torch" in sys.modules,
    }))
""")


def test_the_installed_extension_tracks_with_its_own_engine(tmp_path, built_zip):
    from support.blender_scene import (CONTROL_POINTS, add_camera, identity_rotations,
                                       known_translations, posed_means, render_frames,
                                       write_asset, write_movie)
    from spectralsplats_addon.blender.camera_data import blender_camera_from_object
    from spectralsplats_addon.engine.conventions import camera_from_blender
    from spectralsplats_addon.engine.result import TrackResult
    from spectralsplats_addon.engine.rig import build_rig

    cam = add_camera(bpy.context.scene)
    camera = camera_from_blender(blender_camera_from_object(cam, bpy.context.scene))
    splats = write_asset(tmp_path / "asset.ply")
    rig = build_rig(splats.means, CONTROL_POINTS)
    write_movie(render_frames(splats, posed_means(splats, rig, identity_rotations(2, len(
        rig.control_points)), known_translations(rig, 2)), camera), tmp_path / "clip.mp4")
    shot = {"ply": str(tmp_path / "asset.ply"), "movie": str(tmp_path / "clip.mp4"),
            "camera": [list(row) for row in cam.matrix_world], "size": camera.width,
            "control_points": CONTROL_POINTS, "out": str(tmp_path / "out")}

    user = tmp_path / "blender_user"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(user))
    done = subprocess.run([sys.executable, "-c", INSTALL_AND_TRACK, str(built_zip),
                           json.dumps(shot)], capture_output=True, text=True, timeout=300,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    installed = user / "extensions" / "user_default" / "spectralsplats"
    assert report["track"] == ["FINISHED"]
    assert report["package"] == "bl_ext.user_default.spectralsplats"
    assert report["worker_package_dir"] == str(installed)
    # The worker ran the installed engine: its compiled rasterizer is cached beside it.
    assert list((installed / "engine" / "render" / "__pycache__").glob("*.nbi"))
    assert report["fcurves"] == CONTROL_POINTS * 7 and report["keyed_frames"] == [1.0, 2.0]
    assert report["torch_loaded"] is False  # torch ran in the worker only
    assert TrackResult.load(tmp_path / "out" / "asset" / "result.npz").complete
