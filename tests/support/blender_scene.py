"""Blender scenes for the tests: a filmed known motion (asset, camera, movie, rig), the
positions Blender evaluates, and a snapshot of the scene's state."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import bpy
import numpy as np
import torch
from mathutils import Matrix

from spectralsplats_addon.blender.camera_data import blender_camera_from_object
from spectralsplats_addon.blender.display_nodes import MODIFIER_NAME as DISPLAY_MODIFIER
from spectralsplats_addon.blender.job_from_scene import rig_from_armature
from spectralsplats_addon.blender.point_object import splats_from_object
from spectralsplats_addon.engine.conventions import (Camera, camera_from_blender,
                                                     look_at_matrix_world)
from spectralsplats_addon.engine.deform.skinning import skin_positions
from spectralsplats_addon.engine.io import write_ply
from spectralsplats_addon.engine.loss.metrics import psnr
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.engine.rig import Rig
from spectralsplats_addon.engine.splats import Splats
from spectralsplats_addon.lab.synthetic import make_synthetic_splats


def evaluated_positions(obj) -> np.ndarray:
    obj.modifiers[DISPLAY_MODIFIER].show_viewport = False
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    out = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", out)
    obj.modifiers[DISPLAY_MODIFIER].show_viewport = True
    return out.reshape(-1, 3).astype(np.float64)


SIZE = 48            # pixels, square
SPLATS = 400
CONTROL_POINTS = 8
CAMERA_EYE = (0.9, -2.4, 0.7)


def write_asset(path: Path) -> Splats:
    """A seeded synthetic asset (a ball of diameter 1 at the origin) written as .ply."""
    splats = make_synthetic_splats(SPLATS, seed=3).to_numpy()
    write_ply(path, splats)
    return splats


def add_camera(scene, name: str = "Cam"):
    """A perspective camera looking at the origin, the scene's camera, SIZE x SIZE pixels."""
    cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
    scene.collection.objects.link(cam)
    cam.matrix_world = Matrix(look_at_matrix_world(CAMERA_EYE, (0.0, 0.0, 0.0)).tolist())
    scene.camera = cam
    scene.render.resolution_x = scene.render.resolution_y = SIZE
    scene.render.resolution_percentage = 100
    return cam


def known_translations(rig: Rig, count: int) -> np.ndarray:  # [F, P, 3]
    """Frame f: every control point moves by a drift (0.04, 0, 0.03) (f + 1), and bends
    sideways by 0.05 (f + 1) times its height."""
    cp = rig.control_points.astype(np.float64)
    height = (cp[:, 2] - cp[:, 2].mean()) / np.ptp(cp[:, 2])
    out = np.zeros((count, len(cp), 3))
    for f in range(count):
        out[f, :, 0] = 0.04 * (f + 1) + 0.05 * (f + 1) * height
        out[f, :, 2] = 0.03 * (f + 1)
    return out


def posed_means(splats: Splats, rig: Rig, rotations, translations) -> np.ndarray:  # [F, N, 3]
    """The engine's skinning of the asset (float64)."""
    as64 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))
    return skin_positions(as64(splats.means), as64(rig.control_points), as64(rotations),
                          as64(translations), torch.as_tensor(rig.indices),
                          as64(rig.weights)).numpy()


def render_frames(splats: Splats, means: np.ndarray, camera: Camera) -> list[torch.Tensor]:
    """rgb [H, W, 3] of the asset with each frame's means [F, N, 3], over black."""
    out = []
    for m in means:
        moved = Splats(m.astype(np.float32), splats.quats, splats.log_scales,
                       splats.opacity_logits, splats.sh).to_torch()
        with torch.no_grad():
            out.append(render(moved, camera).rgb)
    return out


def identity_rotations(count: int, points: int) -> np.ndarray:  # [F, P, 4]
    q = np.zeros((count, points, 4))
    q[..., 0] = 1.0
    return q


def write_movie(frames: list[torch.Tensor], path: Path, fps: int = 24) -> Path:
    """H.264 4:4:4 at constant quantiser 0 (lossless up to the RGB -> YUV rounding)."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv444p"
        stream.options = {"qp": "0"}
        for i, rgb in enumerate(frames):
            pixels = (rgb.clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@dataclass
class Shot:
    """A scene ready to track: a rigged splat object, a camera and a movie strip."""

    obj: object
    splats: Splats
    rig: Rig
    camera: Camera
    targets: list          # rgb [H, W, 3] per frame
    movie: Path
    frames: list[int]
    size: float            # the asset's bounding-box diagonal

    def rest_psnr(self) -> np.ndarray:
        rest = render_frames(self.splats, self.splats.means[None].astype(np.float64),
                             self.camera)[0]
        return np.array([psnr(rest.permute(2, 0, 1), t.permute(2, 0, 1)) for t in self.targets])


def make_shot(tmp_path: Path, *, frames: int = 3, iterations: int = 40) -> Shot:
    """Imports and rigs the asset, adds the camera, films the known motion into a movie strip
    'clip' at scene frames 1..frames, and fills the Track panel's settings."""
    write_asset(tmp_path / "asset.ply")
    assert bpy.ops.spectralsplats.import_ply(filepath=str(tmp_path / "asset.ply")) == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    assert bpy.ops.spectralsplats.rig(control_points=CONTROL_POINTS) == {"FINISHED"}
    scene = bpy.context.scene
    cam = add_camera(scene)
    camera = camera_from_blender(blender_camera_from_object(cam, scene))
    splats, rig = splats_from_object(obj), rig_from_armature(obj)
    trans = known_translations(rig, frames)
    targets = render_frames(splats, posed_means(splats, rig, identity_rotations(frames, len(
        rig.control_points)), trans), camera)
    movie = write_movie(targets, tmp_path / "clip.mp4")
    scene.sequence_editor_create().strips.new_movie("clip", str(movie), channel=1, frame_start=1)
    settings = scene.spectralsplats_track
    settings.strip, settings.model, settings.loss = "clip", "direct", "spectral"
    settings.preset = "fast"
    settings.iterations, settings.resolution, settings.device = iterations, 0, "cpu"
    settings.output_dir = str(tmp_path / "out")
    size = float(np.linalg.norm(splats.means.max(0) - splats.means.min(0)))
    return Shot(obj, splats, rig, camera, targets, movie, list(range(1, frames + 1)), size)


def scene_state() -> dict:
    """What tracking must not change unless it bakes: objects, data-block counts, keys."""
    return {"objects": sorted(o.name for o in bpy.data.objects),
            "counts": {name: len(getattr(bpy.data, name)) for name in
                       ("objects", "meshes", "armatures", "actions", "cameras", "images",
                        "movieclips", "node_groups", "materials")},
            "animated": sorted(o.name for o in bpy.data.objects if o.animation_data is not None),
            "frame": bpy.context.scene.frame_current}
