"""A Blender camera object -> BlenderCamera plain data (what the engine and job.json use)."""

from __future__ import annotations

import numpy as np

from ..engine.conventions import BlenderCamera
from ..engine.errors import CameraError


def blender_camera_from_object(cam_obj, scene) -> BlenderCamera:
    """Reads a camera object and the scene's render settings into a BlenderCamera."""
    if cam_obj is None or cam_obj.type != "CAMERA":
        raise CameraError("the scene has no camera: add one (Add > Camera) and set it as the "
                          "scene camera, or pick one in the Track panel")
    cam = cam_obj.data
    if cam.type != "PERSP":
        raise CameraError(f"camera {cam_obj.name!r} is {cam.type.lower()}: only perspective "
                          "cameras are supported; set Lens > Type to Perspective")
    render = scene.render
    return BlenderCamera(
        matrix_world=np.array(cam_obj.matrix_world, dtype=float).tolist(),
        lens=float(cam.lens),
        sensor_width=float(cam.sensor_width),
        sensor_height=float(cam.sensor_height),
        sensor_fit=str(cam.sensor_fit),
        resolution_x=int(render.resolution_x),
        resolution_y=int(render.resolution_y),
        resolution_percentage=int(render.resolution_percentage),
        pixel_aspect_x=float(render.pixel_aspect_x),
        pixel_aspect_y=float(render.pixel_aspect_y),
        shift_x=float(cam.shift_x),
        shift_y=float(cam.shift_y),
        clip_start=float(cam.clip_start),
        clip_end=float(cam.clip_end),
    )
