"""Which footage frame a sequencer strip shows at each scene frame.

Movie strip: scene frame f shows movie frame  f - frame_start + animation_offset_start
(index 0 = the movie's first frame shown, as engine/video reads it). Image strip: the
element Blender itself picks (strip_elem_from_frame). Only the strip's visible range
[frame_final_start, frame_final_end) can be tracked.
"""

from __future__ import annotations

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
    if strip.type == "MOVIE":
        path = bpy.path.abspath(strip.filepath)
        if not os.path.isfile(path):
            raise StripError(f"the movie of strip {strip.name!r} is missing: {path}; relink it "
                             "(Strip > Inputs > Change Path/Files)")
        offset = int(strip.animation_offset_start) - int(strip.frame_start)
        return [StripFrame(f, "movie", path, f + offset) for f in range(first, last + 1)]
    frames = []
    directory = bpy.path.abspath(strip.directory)
    for f in range(first, last + 1):
        path = os.path.join(directory, strip.strip_elem_from_frame(f).filename)
        if not os.path.isfile(path):
            raise StripError(f"image {path} of strip {strip.name!r} (scene frame {f}) is missing: "
                             "relink the strip's images")
        frames.append(StripFrame(f, "image", path, 0))
    return frames
