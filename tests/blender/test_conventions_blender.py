"""Engine camera conventions against Blender's own projection (world_to_camera_view)."""

from __future__ import annotations

import zlib

import bpy
import numpy as np
import pytest
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Matrix, Vector

from spectralsplats_addon.blender.camera_data import blender_camera_from_object
from spectralsplats_addon.engine.conventions import camera_from_blender, look_at_matrix_world

CASES = [
    # (res_x, res_y, percent, pixel aspect x, y, sensor_fit, shift_x, shift_y)
    (640, 480, 100, 1.0, 1.0, "AUTO", 0.0, 0.0),
    (480, 640, 100, 1.0, 1.0, "AUTO", 0.0, 0.0),  # portrait
    (640, 480, 50, 1.0, 1.0, "HORIZONTAL", 0.1, -0.05),
    (480, 640, 100, 1.0, 1.0, "VERTICAL", -0.2, 0.15),  # portrait with shift
    (720, 576, 100, 16.0, 15.0, "AUTO", 0.0, 0.0),  # non-square pixels (PAL widescreen)
    (720, 576, 100, 1.0, 2.0, "AUTO", 0.05, 0.1),  # tall pixels with shift
    (300, 500, 100, 2.0, 1.0, "AUTO", 0.0, 0.0),  # wide pixels flip the AUTO fit
    (300, 500, 75, 1.0, 1.5, "VERTICAL", 0.3, -0.2),
    (1920, 1080, 100, 1.0, 1.0, "VERTICAL", 0.0, 0.2),
]


def make_camera(scene, rng, case):
    res_x, res_y, pct, ax, ay, fit, sx, sy = case
    cam_data = bpy.data.cameras.new("cam")
    cam_data.lens = float(rng.uniform(18, 85))
    cam_data.sensor_width = float(rng.uniform(20, 40))
    cam_data.sensor_height = float(rng.uniform(15, 30))
    cam_data.sensor_fit = fit
    cam_data.shift_x, cam_data.shift_y = sx, sy
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    eye = rng.normal(size=3)
    eye = eye / np.linalg.norm(eye) * rng.uniform(4, 8)
    m = look_at_matrix_world(eye, rng.normal(scale=0.3, size=3))
    # A roll about the view axis and a non-unit object scale (ignored by Blender's view).
    roll = Matrix.Rotation(float(rng.uniform(-np.pi, np.pi)), 4, "Z")
    cam.matrix_world = Matrix(m.tolist()) @ roll @ Matrix.Diagonal((1.3, 1.3, 1.3, 1.0))
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = res_x, res_y, pct
    r.pixel_aspect_x, r.pixel_aspect_y = ax, ay
    return cam


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}x{c[1]}-{c[5]}-asp{c[3]}:{c[4]}-"
                                             f"shift{c[6]},{c[7]}" for c in CASES])
def test_projection_matches_world_to_camera_view(case):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    scene = bpy.context.scene
    for _ in range(3):
        cam_obj = make_camera(scene, rng, case)
        bpy.context.view_layer.update()
        camera = camera_from_blender(blender_camera_from_object(cam_obj, scene))
        points = rng.normal(scale=1.0, size=(50, 3))
        ours = camera.project(points)
        for p, (u, v, z) in zip(points, ours):
            ndc = world_to_camera_view(scene, cam_obj, Vector(p))
            assert z == pytest.approx(ndc.z, rel=1e-6)  # depth (Blender works in float32)
            expected_u = ndc.x * camera.width
            expected_v = (1.0 - ndc.y) * camera.height  # Blender's y is up from the bottom
            assert abs(u - expected_u) < 1e-3 and abs(v - expected_v) < 1e-3, (
                f"pixel ({u:.5f}, {v:.5f}) vs Blender ({expected_u:.5f}, {expected_v:.5f})")


def test_image_size_follows_resolution_percentage():
    scene = bpy.context.scene
    cam = make_camera(scene, np.random.default_rng(1), (1000, 600, 25, 1.0, 1.0, "AUTO", 0, 0))
    camera = camera_from_blender(blender_camera_from_object(cam, scene))
    assert (camera.width, camera.height) == (250, 150)


def test_no_camera_is_a_clear_error():
    from spectralsplats_addon.engine.errors import CameraError

    with pytest.raises(CameraError, match="no camera"):
        blender_camera_from_object(bpy.context.scene.camera, bpy.context.scene)
