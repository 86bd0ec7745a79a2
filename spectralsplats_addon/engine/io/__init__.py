"""Splat files: INRIA-layout .ply (read and write) and antimatter15 .splat (read).

numpy and plyfile only, never torch: the Blender layer imports this package.

    splats, report = load_splats("scene.ply")       # Splats of numpy float32, ReadReport
    splats = read_splats("scene.splat", drop_invalid=True)
    write_ply("out.ply", splats, format="binary_little_endian")

Anything that is not a splat file raises SplatFileError saying what is wrong and what to do;
docs/file-formats.md lists the layouts and the errors.
"""

from .load import ReadReport, load_splats, read_splats
from .ply import PlyFormat, inria_property_names, write_ply

__all__ = ["ReadReport", "load_splats", "read_splats", "write_ply", "PlyFormat",
           "inria_property_names"]
