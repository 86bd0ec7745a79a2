"""Camera conventions on known values (Blender itself checks them in tests/blender)."""

from __future__ import annotations

import numpy as np
import pytest

from spectralsplats_addon.engine.conventions import (
    BlenderCamera,
    camera_from_blender,
    look_at_matrix_world,
    viewmat_from_matrix_world,
)
from spectralsplats_addon.engine.errors import CameraError


def test_full_hd_50mm_intrinsics_known_values():
    cam = camera_from_blender(BlenderCamera(lens=50, sensor_width=36, resolution_x=1920,
                                            resolution_y=1080))
    np.testing.assert_allclose(cam.K, [[50 * 1920 / 36, 0, 960], [0, 50 * 1920 / 36, 540],
                                       [0, 0, 1]])
    assert (cam.width, cam.height) == (1920, 1080)


def test_point_on_the_optical_axis_lands_on_the_principal_point():
    cam = camera_from_blender(BlenderCamera(resolution_x=64, resolution_y=48))
    u, v, depth = cam.project(np.array([[0.0, 0.0, -5.0]]))[0]  # Blender camera looks down -Z
    assert (u, v, depth) == pytest.approx((32.0, 24.0, 5.0))
    # +X in the camera is to the right, +Y (Blender up) is up in the image: v decreases.
    right, up = cam.project(np.array([[1.0, 0.0, -5.0], [0.0, 1.0, -5.0]]))
    assert right[0] > 32 and right[1] == pytest.approx(24)
    assert up[1] < 24 and up[0] == pytest.approx(32)


def test_shift_moves_the_principal_point_by_the_larger_side():
    cam = camera_from_blender(BlenderCamera(resolution_x=200, resolution_y=100, shift_x=0.1,
                                            shift_y=0.2))
    assert cam.K[0, 2] == pytest.approx(100 - 0.1 * 200)
    assert cam.K[1, 2] == pytest.approx(50 + 0.2 * 200)


def test_non_square_pixels_scale_fy():
    cam = camera_from_blender(BlenderCamera(resolution_x=100, resolution_y=100, pixel_aspect_x=1,
                                            pixel_aspect_y=2))
    assert cam.K[0, 0] == pytest.approx(2 * cam.K[1, 1])


def test_camera_object_scale_is_ignored():
    m = look_at_matrix_world((3.0, -4.0, 2.0), (0.0, 0.0, 0.0))
    scaled = m @ np.diag([2.0, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(viewmat_from_matrix_world(scaled), viewmat_from_matrix_world(m),
                               atol=1e-12)


def test_look_at_puts_the_target_in_front_on_axis():
    m = look_at_matrix_world((0.0, -6.0, 1.0), (0.0, 0.0, 0.0))
    cam = camera_from_blender(BlenderCamera(matrix_world=m.tolist(), resolution_x=32,
                                            resolution_y=32))
    u, v, depth = cam.project(np.zeros((1, 3)))[0]
    assert (u, v) == pytest.approx((16, 16)) and depth == pytest.approx(np.sqrt(37))


def test_resized_scales_the_intrinsics():
    cam = camera_from_blender(BlenderCamera(resolution_x=400, resolution_y=200, shift_x=0.1))
    small = cam.resized(100, 50)
    pts = np.random.default_rng(0).normal(size=(10, 3)) + np.array([0, 0, -6.0])
    np.testing.assert_allclose(small.project(pts)[:, :2], cam.project(pts)[:, :2] / 4, atol=1e-9)


def test_dict_round_trip_and_unknown_field():
    cam = BlenderCamera(lens=35, shift_x=0.2, sensor_fit="VERTICAL")
    assert BlenderCamera.from_dict(cam.to_dict()) == cam
    with pytest.raises(CameraError, match="unknown camera field.*'focal'"):
        BlenderCamera.from_dict({**cam.to_dict(), "focal": 3})


@pytest.mark.parametrize("change, message", [
    ({"lens": 0}, "lens and sensor sizes must be positive"),
    ({"sensor_fit": "DIAGONAL"}, "sensor_fit 'DIAGONAL'"),
    ({"resolution_percentage": 0}, "render size 0 x 0 is empty"),
    ({"pixel_aspect_y": 0}, "pixel aspect must be positive"),
    ({"matrix_world": np.diag([0.0, 1, 1, 1]).tolist()}, "zero scale"),
    ({"matrix_world": [[np.nan] * 4] * 4}, "finite 4 x 4"),
])
def test_bad_camera_data_is_a_clear_error(change, message):
    with pytest.raises(CameraError, match=message):
        camera_from_blender(BlenderCamera(**change))
