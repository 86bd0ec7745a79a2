"""The plate behind the camera: once a track is baked, the strip's movie becomes a background
of the tracking camera, timed as the strip plays it, so the animator sees the splats over the
footage through the camera (Numpad 0).

A movie clip shows clip frame (f - frame_start) at scene frame f, one to one; a strip that
plays at another rate (Adjust Playback Rate with a different fps) or with strobe has no such
clip timing, and an image strip is left as it is: the function then returns None.
"""

from __future__ import annotations

import bpy


def show_plate(cam_obj, strip) -> str | None:
    """Puts the strip's movie behind cam_obj; returns the clip's name, or None where the
    clip cannot follow the strip's timing."""
    from .strip_source import playback_rate

    if strip.type != "MOVIE" or float(getattr(strip, "strobe", 1.0)) > 1.0:
        return None
    path = bpy.path.abspath(strip.filepath)
    if playback_rate(strip, strip.id_data, path) != 1.0:
        return None
    clip = bpy.data.movieclips.load(path, check_existing=True)
    clip.frame_start = int(strip.frame_start) - int(strip.animation_offset_start)
    camera = cam_obj.data
    camera.show_background_images = True
    background = next((b for b in camera.background_images
                       if b.source == "MOVIE_CLIP" and b.clip == clip), None)
    if background is None:
        background = camera.background_images.new()
        background.source = "MOVIE_CLIP"
        background.clip = clip
    background.use_camera_clip = False
    background.display_depth = "BACK"
    background.alpha = 1.0
    return clip.name


__all__ = ["show_plate"]
