"""The extension zip: built and validated with Blender's own tool, installed into a fresh
user folder with bpy.ops.extensions.package_install_files, enabled, and used to import a
real .ply through the installed operator (in a separate Blender process)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DONUT = ROOT.parent / "shared" / "data" / "real_splats" / "donut.ply"


def load_build_script():
    spec = importlib.util.spec_from_file_location("build_extension", ROOT / "scripts" / "build_extension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_zip_builds_validates_installs_and_imports(tmp_path):
    zip_path = load_build_script().build(tmp_path / "dist")  # raises if build or validate fails
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
    assert (user / "extensions" / "user_default" / "spectralsplats" / "blender_manifest.toml").exists()
    assert report["import"] == ["FINISHED"] and report["object"] == "donut"
    assert report["points"] == 45624
    assert {"opacity", "scale", "rotation", "sh_0", "Col"} <= set(report["attributes"])
    assert report["torch_loaded"] is False  # the Blender side never loads torch
