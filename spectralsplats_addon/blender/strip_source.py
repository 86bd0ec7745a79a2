"""Which footage frame a sequencer strip shows at each scene frame.

Movie strip: scene frame f shows movie frame

    animation_offset_start + round((f - frame_start) * rate)   (less its remainder by strobe)

(index 0 = the movie's first frame, as engine/video reads it), where rate is the movie's
frame rate over the scene's when the strip plays at the movie's own rate (Add > Movie's
"Adjust Playback Rate", on by default), else 1, halves rounded up: the frame Blender's own
sequencer render shows (tests/blender/test_strip_playback_rate.py). Image
strip: the element Blender itself picks (strip_elem_from_frame). Only the strip's visible
range [frame_final_start, frame_final_end) can be tracked. Retiming keys (Strip > Retiming)
are refused: Blender does not expose the source frame of each key.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import bpy

from ..engine.errors import SpectralSplatsError
from .compat import all_strips_name


class StripError(SpectralSplatsError, ValueError):
    """A strip that cannot serve as the tracking target."""


@dataclass
class StripFrame:
    scene_frame: int
    kind: str    # "movie" or "image"
    path: str    # absolute
    index: int   # frame index in the movie (0 for an image)

    def to_dict(self) -> dict:
        return {"scene_frame": self.scene_frame, "kind": self.kind, "path": self.path,
                "index": self.index}


def find_strip(editor, name: str):
    """The strip called ``name`` in the editor (any channel, inside meta strips), or None."""
    return getattr(editor, all_strips_name(editor)).get(name) if editor and name else None


def strip_range(strip) -> tuple[int, int]:
    """The scene frames the strip shows: first, last (inclusive)."""
    return int(strip.frame_final_start), int(strip.frame_final_end) - 1


def strip_frames(strip, first: int, last: int) -> list[StripFrame]:
    """Footage frames for scene frames first..last (inclusive) of a movie or image strip."""
    if strip is None:
        raise StripError("no video strip is chosen: add a movie or image strip to the Video "
                         "Sequencer and pick it in the Track panel")
    if strip.type not in {"MOVIE", "IMAGE"}:
        raise StripError(f"strip {strip.name!r} is a {strip.type.lower()} strip: pick a movie or "
                         "image strip (the footage to track)")
    if getattr(strip, "use_reverse_frames", False):
        raise StripError(f"strip {strip.name!r} plays in reverse: turn off Reverse Frames")
    lo, hi = strip_range(strip)
    if first > last or first < lo or last > hi:
        raise StripError(f"frames {first}-{last} are outside strip {strip.name!r}, which shows "
                         f"frames {lo}-{hi}: change the frame range")
    if len(getattr(strip, "retiming_keys", ())):
        raise StripError(f"strip {strip.name!r} is retimed (it has retiming keys), which the "
                         "tracker cannot follow: clear them (Strip > Retiming > Reset "
                         "Retiming), or render the retimed strip to a movie and track that")
    if strip.type == "MOVIE":
        path = bpy.path.abspath(strip.filepath)
        if not os.path.isfile(path):
            raise StripError(f"the movie of strip {strip.name!r} is missing: {path}; relink it "
                             "(Strip > Inputs > Change Path/Files)")
        rate = playback_rate(strip, strip.id_data, path)
        return [StripFrame(f, "movie", path, movie_index(strip, f, rate))
                for f in range(first, last + 1)]
    frames = []
    directory = bpy.path.abspath(strip.directory)
    for f in range(first, last + 1):
        path = os.path.join(directory, strip.strip_elem_from_frame(f).filename)
        if not os.path.isfile(path):
            raise StripError(f"image {path} of strip {strip.name!r} (scene frame {f}) is missing: "
                             "relink the strip's images")
        frames.append(StripFrame(f, "image", path, 0))
    return frames


def movie_index(strip, scene_frame: int, rate: float) -> int:
    """The movie frame a movie strip shows at scene_frame (module docstring)."""
    index = max(0.0, (scene_frame - float(strip.frame_start)) * rate)
    index = math.floor(index + 0.5)  # Blender's sequencer rounds the index to the nearest
    strobe = float(getattr(strip, "strobe", 1.0))
    if strobe > 1.0:
        index = int(index - math.fmod(index, strobe))
    return int(strip.animation_offset_start) + index


def playback_rate(strip, scene, path: str) -> float:
    """Movie frames per scene frame: the movie's fps over the scene's where the strip plays
    at the movie's own rate ("Adjust Playback Rate"), else 1.

    Blender keeps that choice in a flag with no Python property; its effect is visible in
    the strip's length: frame_duration is the movie's frame count divided by the rate."""
    scene_fps = scene.render.fps / scene.render.fps_base
    rate = float(strip.fps) / scene_fps if strip.fps > 0 else 1.0
    if abs(rate - 1.0) < 1e-6:
        return 1.0
    content = movie_frame_count(path) - int(strip.animation_offset_start) \
        - int(strip.animation_offset_end)
    duration = int(strip.frame_duration)
    if duration == content:
        return 1.0
    if abs(duration - content / rate) < 1.0:
        return rate
    raise StripError(f"strip {strip.name!r} shows its {content} movie frames over {duration} "
                     f"scene frames, which is neither the movie's rate nor one to one: "
                     "add the movie again (Add > Movie)")


def movie_frame_count(path: str) -> int:
    """The frames Blender counts in the movie at path (a movie clip loaded for the count and
    removed again unless it was already in the file)."""
    before = set(bpy.data.movieclips)
    clip = bpy.data.movieclips.load(path, check_existing=True)
    try:
        return int(clip.frame_duration)
    finally:
        if clip not in before:
            bpy.data.movieclips.remove(clip)
