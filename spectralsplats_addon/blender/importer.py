"""Import a splat file into the scene: the bpy-side work behind the import operator."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from bpy_extras.io_utils import axis_conversion

from ..engine.io import load_splats
from .display_nodes import DEFAULT_DISPLAY, add_display_modifier
from .point_object import splats_to_object


@dataclass
class ImportResult:
    obj: object  # bpy.types.Object
    count: int
    dropped: int
    seconds: float


def import_splats(filepath: str, collection, *, axis_forward: str = "Y", axis_up: str = "Z",
                  display: str = DEFAULT_DISPLAY, display_size: float = 2.0,
                  drop_invalid: bool = False) -> ImportResult:
    """Reads a .ply/.splat into a new point object in collection.

    The splat data stays in the file's own frame; the object's matrix_world maps the file's
    axes (axis_forward, axis_up) onto Blender's (Y forward, Z up).
    Raises the engine's SplatFileError for a file that is not a splat file.
    """
    start = time.perf_counter()
    splats, report = load_splats(filepath, drop_invalid=drop_invalid)
    name = os.path.splitext(os.path.basename(filepath))[0] or "Splats"
    obj = splats_to_object(splats, name, collection, source_path=os.path.abspath(filepath))
    obj.matrix_world = axis_conversion(from_forward=axis_forward, from_up=axis_up,
                                       to_forward="Y", to_up="Z").to_4x4()
    add_display_modifier(obj, display, display_size)
    return ImportResult(obj, len(splats), int(report.dropped), time.perf_counter() - start)
