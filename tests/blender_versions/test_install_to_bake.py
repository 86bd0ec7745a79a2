"""The built extension zip, from install to baked keys, in each supported Blender release.

Each release is the bpy module in its own virtual environment, .venv-bpy/<version>/ (built by
`make test` for the oldest and newest, by `make test-blender-all` for all five; the versions
run are named by SPECTRALSPLATS_BPY_VERSIONS). Blender's Python runs install_to_bake.py; the
tracker runs in this interpreter (the project's Python with torch), named in the extension's
"Tracker Python" preference, as a user of Blender 5.1+ (Python 3.13) must do.

The evaluated splats at every baked frame are compared with the engine's skinning of the
result: positions within 1e-4 of the asset size, and on 5.3+ (native splats) orientations
within 1e-3 rad.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.conventions import (BlenderCamera, camera_from_blender,
                                                     look_at_matrix_world)
from spectralsplats_addon.engine.deform.skinning import skin_positions, skin_quaternions
from spectralsplats_addon.engine.io import write_ply
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.rig import build_rig
from spectralsplats_addon.engine.splats import Splats
from spectralsplats_addon.lab.synthetic import make_synthetic_splats

from support.extension_build import load_build_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("install_to_bake.py")
VENVS = ROOT / ".venv-bpy"
ALL_VERSIONS = ("4.2", "4.5", "5.0", "5.2", "5.3")
SIZE, SPLATS, CONTROL_POINTS, FRAMES = 48, 400, 8, 2


def requested_versions() -> list[str]:
    """SPECTRALSPLATS_BPY_VERSIONS (set by make), else every version whose venv is built."""
    named = os.environ.get("SPECTRALSPLATS_BPY_VERSIONS")
    if named is not None:
        return named.split()
    return [v for v in ALL_VERSIONS if (VENVS / v / ".installed").exists()]


CASES = [(v, "ours") for v in requested_versions()] + \
        [(v, "blender") for v in requested_versions() if v >= "5.3"]


def blender_python(version: str) -> Path:
    python = VENVS / version / "bin" / "python"
    if not (VENVS / version / ".installed").exists():
        pytest.fail(f"Blender {version} is not set up: run "
                    f"`make {VENVS.name}/{version}/.installed` (or `make test-blender-all`)")
    return python




@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    return load_build_script().build(tmp_path_factory.mktemp("dist"))


def write_movie(frames: list[torch.Tensor], path: Path) -> None:
    """H.264 4:4:4 at constant quantiser 0."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height = SIZE, SIZE
        stream.pix_fmt, stream.options = "yuv444p", {"qp": "0"}
        for rgb in frames:
            image = (rgb.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """A synthetic asset that drifts and bends over FRAMES frames, filmed by a known camera."""
    folder = tmp_path_factory.mktemp("shot")
    splats = make_synthetic_splats(SPLATS, seed=3).to_numpy()
    write_ply(folder / "asset.ply", splats)
    camera_data = dict(matrix_world=look_at_matrix_world((0.9, -2.4, 0.7), (0, 0, 0)).tolist(),
                       lens=50.0, sensor_width=36.0, sensor_height=24.0, sensor_fit="AUTO",
                       clip_start=0.1, clip_end=100.0, resolution_x=SIZE, resolution_y=SIZE)
    camera = camera_from_blender(BlenderCamera(**camera_data, resolution_percentage=100,
                                               pixel_aspect_x=1.0, pixel_aspect_y=1.0,
                                               shift_x=0.0, shift_y=0.0))
    rig = build_rig(splats.means, CONTROL_POINTS)
    z = rig.control_points[:, 2]
    height = (z - z.mean()) / np.ptp(z)
    translations = np.zeros((FRAMES, CONTROL_POINTS, 3))
    for f in range(FRAMES):
        translations[f, :, 0] = 0.04 * (f + 1) + 0.05 * (f + 1) * height
        translations[f, :, 2] = 0.03 * (f + 1)
    rotations = np.zeros((FRAMES, CONTROL_POINTS, 4))
    rotations[..., 0] = 1.0
    means = skinned(splats, rig, rotations, translations)
    frames = []
    for m in means:
        moved = Splats(m.astype(np.float32), splats.quats, splats.log_scales,
                       splats.opacity_logits, splats.sh).to_torch()
        with torch.no_grad():
            frames.append(render(moved, camera).rgb)
    write_movie(frames, folder / "clip.mp4")
    return {"ply": str(folder / "asset.ply"), "movie": str(folder / "clip.mp4"),
            "camera": camera_data, "control_points": CONTROL_POINTS, "iterations": 20,
            "tracker_python": sys.executable, "splats": splats, "rig": rig}


def as64(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def skinned(splats, rig, rotations, translations) -> np.ndarray:  # [F, N, 3]
    return skin_positions(as64(splats.means), as64(rig.control_points), as64(rotations),
                          as64(translations), torch.as_tensor(rig.indices),
                          as64(rig.weights)).numpy()


def quaternion_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle [N] between unit quaternions a and b [N, 4] (q and -q are one rotation)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return 2 * np.arccos(np.clip(np.abs((a * b).sum(-1)), 0.0, 1.0))


def run_in_blender(version: str, importer: str, shot: dict, built_zip: Path, folder: Path) -> dict:
    data = {k: v for k, v in shot.items() if k not in ("splats", "rig")}
    data.update(importer=importer, out=str(folder / "out"))
    (folder / "shot.json").write_text(json.dumps(data))
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(folder / "blender_user"))
    env.pop("PYTHONPATH", None)  # Blender's Python sees only the installed extension
    done = subprocess.run([str(blender_python(version)), str(SCRIPT), str(built_zip),
                           str(folder / "shot.json"), str(folder)], capture_output=True,
                          text=True, timeout=600, env=env, cwd=folder)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((folder / "report.json").read_text())


@pytest.mark.skipif(not CASES, reason="no Blender release set up: run `make test-blender` "
                                      "or `make test-blender-all`")
@pytest.mark.parametrize("version,importer", CASES or [("none", "ours")])
def test_the_installed_zip_goes_from_install_to_baked_keys(version, importer, shot, built_zip,
                                                            tmp_path):
    report = run_in_blender(version, importer, shot, built_zip, tmp_path)

    assert report["blender"].startswith(version)
    assert report["install"] == ["FINISHED"]
    assert report["package"] == "bl_ext.user_default.spectralsplats"
    assert report["operator_module"].startswith(report["package"] + ".")
    assert report["import"] == ["FINISHED"] and report["rig"] == ["FINISHED"]
    # The split a user of Blender 5.1+ has: Blender's Python is not the tracker's.
    assert report["tracker_python"] == sys.executable
    assert report["python_executable"] != sys.executable
    assert report["python"] == ([3, 11] if version < "5.1" else [3, 13])
    assert report["track"] == ["FINISHED"] and report["torch_loaded"] is False
    assert report["fcurves"] == CONTROL_POINTS * 7
    assert report["keyed_frames"] == [float(f) for f in range(1, FRAMES + 1)]
    native = version >= "5.3"
    assert report["native_splats"] is native
    if native:  # renders as splats, whichever importer made it
        assert report["imported_type"] == ("POINTCLOUD" if importer == "blender" else "MESH")
        assert report["evaluated_splat_type"] == "GAUSSIAN_SPLAT"

    result = TrackResult.load(tmp_path / "out" / "asset" / "result.npz")
    identity = np.zeros_like(result.rotations)
    identity[..., 0] = 1.0
    # Rotated bones, so the orientation check below sees the rig turn the splats.
    assert quaternion_angle(result.rotations.reshape(-1, 4), identity.reshape(-1, 4)).max() > 1e-2
    splats, rig = shot["splats"], shot["rig"]
    expected = skinned(splats, rig, result.rotations, result.translations)
    evaluated = np.load(tmp_path / "evaluated.npz")
    size = float(np.ptp(splats.means, axis=0).max())
    position_error, angle_error = 0.0, 0.0
    for f, frame in enumerate(result.frames):
        positions = evaluated[f"positions_{frame}"]
        assert positions.shape == (SPLATS, 3)
        position_error = max(position_error, np.abs(positions - expected[f]).max() / size)
        if native:
            rest = splats.quats / np.linalg.norm(splats.quats, axis=-1, keepdims=True)
            want = skin_quaternions(as64(rest), as64(result.rotations[f:f + 1]),
                                    torch.as_tensor(rig.indices), as64(rig.weights)).numpy()[0]
            angle_error = max(angle_error,
                              quaternion_angle(evaluated[f"rotations_{frame}"], want).max())
    print(f"Blender {report['blender']} ({importer} importer): evaluated positions within "
          f"{position_error:.2e} of the asset size, orientations within {angle_error:.2e} rad")
    assert position_error < 1e-4
    assert angle_error < 1e-3


READ_CLOUD = """
import sys
import bpy
import numpy as np
sys.path.insert(0, sys.argv[1])
from spectralsplats_addon.blender.native_splats import splats_from_cloud
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.ply_import(filepath=sys.argv[2])
s = splats_from_cloud(bpy.context.view_layer.objects.active.data)
np.savez(sys.argv[3], means=s.means, quats=s.quats, log_scales=s.log_scales,
         opacity_logits=s.opacity_logits, sh=s.sh)
"""


@pytest.mark.skipif("5.3" not in requested_versions(), reason="needs Blender 5.3 (make test)")
def test_blenders_own_splat_import_reads_back_as_the_files_splats(tmp_path):
    """SH degree 3 (lod3.ply): every value of Blender 5.3's splat cloud, read back, is the
    file's (rest coefficients in the engine's order)."""
    from spectralsplats_addon.engine.io import load_splats

    ply = ROOT.parent / "shared" / "data" / "real_splats" / "lod3.ply"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(blender_python("5.3")), "-c", READ_CLOUD, str(ROOT), str(ply),
                           str(tmp_path / "cloud.npz")], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    cloud = np.load(tmp_path / "cloud.npz")
    splats = load_splats(ply)[0].to_numpy()
    assert cloud["sh"].shape == splats.sh.shape == (len(splats), 16, 3)
    np.testing.assert_array_equal(cloud["means"], splats.means)
    np.testing.assert_array_equal(cloud["sh"], splats.sh)
    unit = splats.quats / np.linalg.norm(splats.quats, axis=1, keepdims=True)
    np.testing.assert_allclose(cloud["quats"], unit, atol=1e-6)
    np.testing.assert_allclose(cloud["log_scales"], splats.log_scales, atol=1e-5)
    moderate = np.abs(splats.opacity_logits) < 8  # sigmoid keeps the logit to float32 there
    np.testing.assert_allclose(cloud["opacity_logits"][moderate],
                               splats.opacity_logits[moderate], atol=1e-3)
