"""Every conversion between Blender's conventions and the engine's lives here.

Blender: Z-up world; cameras look down -Z with +Y up; intrinsics as lens (mm), sensor size
(mm), sensor fit, resolution, pixel aspect and shift.

Engine (OpenCV / gsplat): world-to-camera ``viewmat`` [4, 4] with x right, y down,
z forward, and pixel intrinsics ``K`` [3, 3] whose pixel (i, j) has its centre at
(i + 0.5, j + 0.5).

    viewmat = diag(1, -1, -1, 1) @ inverse(normalised matrix_world)

For a Blender image of W x H pixels (resolution times percentage), pixel aspect
(ax, ay), ycor = ay / ax, and the fitted sensor size s (Blender's
``BKE_camera_params_compute_viewplane``):

    fit = HORIZONTAL if (AUTO and ax * W >= ay * H) or HORIZONTAL else VERTICAL
    viewfac = W if fit is HORIZONTAL else ycor * H
    fx = lens * viewfac / s,         fy = fx / ycor
    cx = W / 2 - shift_x * viewfac,  cy = H / 2 + shift_y * viewfac / ycor

This module is numpy-only: the Blender layer uses it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from .errors import CameraError

SensorFit = Literal["AUTO", "HORIZONTAL", "VERTICAL"]

# Blender camera axes (x right, y up, z backward) -> OpenCV (x right, y down, z forward).
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])
MIN_FOCAL_PIXELS = 1.0  # a shorter focal length (a field of view near 180 degrees) images nothing


@dataclass
class BlenderCamera:
    """A Blender perspective camera as plain data (what job.json stores).

    matrix_world: [4, 4] camera-to-world, Blender axes (may carry scale; it is ignored)
    lens, sensor_width, sensor_height: millimetres
    resolution_x/y and resolution_percentage: the render size, as in Render Properties
    pixel_aspect_x/y: Blender's pixel aspect
    shift_x/y: lens shift in units of the larger image side, as in Blender
    clip_start/clip_end: near and far planes in metres
    """

    matrix_world: list = field(default_factory=lambda: np.eye(4).tolist())
    lens: float = 50.0
    sensor_width: float = 36.0
    sensor_height: float = 24.0
    sensor_fit: SensorFit = "AUTO"
    resolution_x: int = 1920
    resolution_y: int = 1080
    resolution_percentage: int = 100
    pixel_aspect_x: float = 1.0
    pixel_aspect_y: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    clip_start: float = 0.1
    clip_end: float = 1000.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["matrix_world"] = np.asarray(self.matrix_world, dtype=float).tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BlenderCamera":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise CameraError(f"unknown camera field(s) {unknown}; expected a subset of "
                              f"{sorted(cls.__dataclass_fields__)}")
        return cls(**known)


@dataclass
class Camera:
    """A pinhole camera in the engine's (OpenCV) convention.

    viewmat: [4, 4] world-to-camera, x right, y down, z forward
    K:       [3, 3] pixel intrinsics, pixel centres at +0.5
    width, height: image size in pixels
    near, far: clipping distances along the optical axis
    """

    viewmat: np.ndarray
    K: np.ndarray
    width: int
    height: int
    near: float = 0.01
    far: float = 1e10

    def __post_init__(self) -> None:
        self.viewmat = np.asarray(self.viewmat, dtype=np.float64)
        self.K = np.asarray(self.K, dtype=np.float64)
        if self.viewmat.shape != (4, 4) or self.K.shape != (3, 3):
            raise CameraError(f"Camera needs viewmat [4, 4] and K [3, 3], got "
                              f"{self.viewmat.shape} and {self.K.shape}")
        if not (np.isfinite(self.viewmat).all() and np.isfinite(self.K).all()):
            raise CameraError("Camera viewmat or K holds NaN or Inf")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise CameraError(f"Camera image size must be positive, got {self.width} x "
                              f"{self.height}")
        self.width, self.height = int(self.width), int(self.height)

    def resized(self, width: int, height: int) -> "Camera":
        """The same camera with its image resampled to width x height (K scaled to match)."""
        sx, sy = width / self.width, height / self.height
        K = self.K.copy()
        K[0, :] *= sx
        K[1, :] *= sy
        return Camera(self.viewmat.copy(), K, width, height, self.near, self.far)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points [N, 3] -> [N, 3] of (u, v, depth): pixel coordinates and z."""
        p = np.asarray(points, dtype=np.float64)
        pc = p @ self.viewmat[:3, :3].T + self.viewmat[:3, 3]
        uvw = pc @ self.K.T
        return np.concatenate([uvw[:, :2] / uvw[:, 2:3], pc[:, 2:3]], axis=1)


def render_size(cam: BlenderCamera) -> tuple[int, int]:
    """Pixel width and height of the render, as Blender computes them (integer percent)."""
    w = cam.resolution_x * cam.resolution_percentage // 100
    h = cam.resolution_y * cam.resolution_percentage // 100
    return int(w), int(h)


def fitted_sensor(cam: BlenderCamera, width: int, height: int) -> tuple[str, float]:
    """The fit Blender uses ('HORIZONTAL' or 'VERTICAL') and the sensor size (mm) along it."""
    if cam.sensor_fit == "AUTO":
        wide = cam.pixel_aspect_x * width >= cam.pixel_aspect_y * height
        fit = "HORIZONTAL" if wide else "VERTICAL"
        return fit, cam.sensor_width
    if cam.sensor_fit == "HORIZONTAL":
        return "HORIZONTAL", cam.sensor_width
    if cam.sensor_fit == "VERTICAL":
        return "VERTICAL", cam.sensor_height
    raise CameraError(f"sensor_fit {cam.sensor_fit!r} is not one of AUTO, HORIZONTAL, VERTICAL")


def intrinsics_from_blender(cam: BlenderCamera) -> tuple[np.ndarray, int, int]:
    """Blender camera data -> (K [3, 3], width, height) in pixels, centres at +0.5."""
    if cam.lens <= 0 or cam.sensor_width <= 0 or cam.sensor_height <= 0:
        raise CameraError(f"lens and sensor sizes must be positive, got lens={cam.lens}, "
                          f"sensor={cam.sensor_width} x {cam.sensor_height}")
    if cam.pixel_aspect_x <= 0 or cam.pixel_aspect_y <= 0:
        raise CameraError("pixel aspect must be positive")
    width, height = render_size(cam)
    if width <= 0 or height <= 0:
        raise CameraError(f"render size {width} x {height} is empty: check resolution and "
                          "percentage")
    fit, sensor = fitted_sensor(cam, width, height)
    ycor = cam.pixel_aspect_y / cam.pixel_aspect_x
    viewfac = width if fit == "HORIZONTAL" else ycor * height
    fx = cam.lens * viewfac / sensor
    fy = fx / ycor
    cx = width / 2.0 - cam.shift_x * viewfac
    cy = height / 2.0 + cam.shift_y * viewfac / ycor
    K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return K, width, height


def viewmat_from_matrix_world(matrix_world) -> np.ndarray:
    """Blender camera-to-world [4, 4] -> OpenCV world-to-camera viewmat [4, 4].

    Scale in matrix_world is removed first, as Blender does for its view matrix.
    """
    m = np.asarray(matrix_world, dtype=np.float64)
    if m.shape != (4, 4) or not np.isfinite(m).all():
        raise CameraError(f"matrix_world must be a finite 4 x 4 matrix, got shape {m.shape}")
    rot = m[:3, :3]
    norms = np.linalg.norm(rot, axis=0)
    if (norms < 1e-12).any():
        raise CameraError("camera matrix_world has a zero scale: it cannot be inverted")
    rigid = np.eye(4)
    rigid[:3, :3] = rot / norms
    rigid[:3, 3] = m[:3, 3]
    return BLENDER_TO_OPENCV @ np.linalg.inv(rigid)


def camera_from_blender(cam: BlenderCamera) -> Camera:
    """Blender camera data -> the engine's Camera (K, viewmat, size, near/far)."""
    K, width, height = intrinsics_from_blender(cam)
    if not (np.isfinite(K).all() and min(K[0, 0], K[1, 1]) >= MIN_FOCAL_PIXELS):
        raise CameraError(f"the focal length is {K[0, 0]:.3g} pixels (lens {cam.lens:g} mm on a "
                          f"{cam.sensor_width:g} mm sensor); it must be at least "
                          f"{MIN_FOCAL_PIXELS:g} pixel: check the lens and sensor size")
    if not cam.clip_start < cam.clip_end:
        raise CameraError(f"clip_start ({cam.clip_start:g}) must be less than clip_end "
                          f"({cam.clip_end:g})")
    viewmat = viewmat_from_matrix_world(cam.matrix_world)
    return Camera(viewmat, K, width, height, near=cam.clip_start, far=cam.clip_end)


def look_at_matrix_world(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """A Blender camera-to-world [4, 4] at eye, looking at target (-Z toward it, +Y up-ish)."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    back = eye - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    if np.linalg.norm(right) < 1e-9:
        right = np.cross((0.0, 1.0, 0.0), back)
    right /= np.linalg.norm(right)
    upv = np.cross(back, right)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, upv, back, eye
    return m
