"""INRIA-layout 3D Gaussian Splatting .ply files: read and write.

One ``vertex`` element, one row per splat, one float32 property per value, in this order:

    x y z [nx ny nz] f_dc_0..2 f_rest_0..(3M-1) opacity scale_0..2 rot_0..3

with M = (d + 1)^2 - 1 rest coefficients per colour channel for SH degree d (0 to 3, so 0, 9,
24 or 45 f_rest properties). f_rest is channel-major:

    Splats.sh[:, 0, c]     = f_dc_c
    Splats.sh[:, 1 + m, c] = f_rest_(c * M + m)

Reading accepts the properties in any order and of any scalar type (converted to float32),
ignores properties it does not know, and refuses anything that is not a splat file with a
SplatFileError that says what is missing. Writing always uses the order above, float32.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from plyfile import (PlyData, PlyElement, PlyElementParseError, PlyHeaderParseError,
                     PlyListProperty)

from ..errors import SplatFileError
from ..splats import Splats
from ..atomic import atomic_file
from .decoded import DecodedFile
from .invalid import find_invalid

PlyFormat = Literal["binary_little_endian", "binary_big_endian", "ascii"]
BYTE_ORDER = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": "="}

POSITION = ("x", "y", "z")
NORMAL = ("nx", "ny", "nz")
DC = ("f_dc_0", "f_dc_1", "f_dc_2")
OPACITY = ("opacity",)
SCALE = ("scale_0", "scale_1", "scale_2")
ROTATION = ("rot_0", "rot_1", "rot_2", "rot_3")
REQUIRED = POSITION + DC + OPACITY + SCALE + ROTATION
DEGREE_OF_REST_COUNT = {0: 0, 9: 1, 24: 2, 45: 3}  # number of f_rest_* -> SH degree

CHOOSE_A_SPLAT_FILE = ("Choose a 3D Gaussian Splatting .ply (one vertex per splat, with x y z, "
                       "f_dc_*, opacity, scale_* and rot_*) or a .splat file")
SAVE_IT_AGAIN = "The file is damaged or was cut short: save, export or download it again"


def rest_names(sh_degree: int) -> tuple[str, ...]:
    """f_rest_0 .. f_rest_(3M - 1), M = (sh_degree + 1)^2 - 1."""
    return tuple(f"f_rest_{i}" for i in range(3 * ((sh_degree + 1) ** 2 - 1)))


def inria_property_names(sh_degree: int, has_normals: bool) -> tuple[str, ...]:
    """The vertex properties of an INRIA-layout file, in the order they are written."""
    return (POSITION + (NORMAL if has_normals else ()) + DC + rest_names(sh_degree)
            + OPACITY + SCALE + ROTATION)


# Reading.

def read_ply(path: str) -> DecodedFile:
    """Every splat of an INRIA-layout .ply, invalid ones included (see DecodedFile)."""
    header, data_bytes = _read_header(path)
    vertex = _vertex_element(path, header)
    present = {p.name: p for p in vertex.properties}
    sh_degree = _sh_degree(path, present)
    has_normals = all(name in present for name in NORMAL)
    kept = inria_property_names(sh_degree, has_normals)
    lists = [name for name in kept if isinstance(present[name], PlyListProperty)]
    if lists:
        raise SplatFileError(path, f"the properties {', '.join(lists)} are lists, where a splat "
                             "file stores one number per property", CHOOSE_A_SPLAT_FILE)

    _check_counts(path, header, data_bytes)
    data = _read_vertex_data(path, vertex.count)  # structured array [N]
    table = np.empty((len(data), len(kept)), dtype=np.float32)  # [N, P]
    with np.errstate(over="ignore"):  # a double beyond float32 becomes Inf, found below
        for j, name in enumerate(kept):  # a loop over properties, never over splats
            table[:, j] = data[name]
    del data  # releases the memory map

    splats = _splats_from_table(table, kept, sh_degree, has_normals)
    invalid = find_invalid(table, kept, splats.quats, "rot_0..rot_3")
    fmt = "ascii" if header.text else next(k for k, v in BYTE_ORDER.items()
                                            if v == header.byte_order)
    ignored = tuple(name for name in present if name not in kept)
    return DecodedFile(splats, fmt, invalid, ignored)


def _read_header(path: str) -> tuple[PlyData, int]:
    """The header alone (elements without data), so that a file that is no splat file is
    refused before its data is read, and the bytes after it. Uses plyfile's own header
    parser (plyfile is pinned)."""
    try:
        with open(path, "rb") as stream:
            header = PlyData._parse_header(stream)
            data_bytes = os.fstat(stream.fileno()).st_size - stream.tell()
    except UnicodeDecodeError:
        raise SplatFileError(path, "this is not a PLY file (it does not begin with the line "
                             "'ply')", CHOOSE_A_SPLAT_FILE) from None
    except PlyHeaderParseError as error:
        if error.line == 1:
            raise SplatFileError(path, "this is not a PLY file (it does not begin with the "
                                 "line 'ply')", CHOOSE_A_SPLAT_FILE) from None
        if error.message == "early end-of-file":
            raise SplatFileError(path, "the PLY header ends before its 'end_header' line",
                                 SAVE_IT_AGAIN) from None
        raise SplatFileError(path, f"the PLY header is malformed at line {error.line} "
                             f"({error.message})", SAVE_IT_AGAIN) from None
    except ValueError as error:  # e.g. two properties with the same name
        raise SplatFileError(path, f"the PLY header is malformed ({error})",
                             SAVE_IT_AGAIN) from None
    return header, data_bytes


def _check_counts(path: str, header: PlyData, data_bytes: int) -> None:
    """Every element's count must fit the bytes after the header (each row takes at least
    its properties' sizes, or two characters a value in ASCII): a header claiming 10^9
    rows of a small file is refused before anything is allocated."""
    needed = 0
    for element in header.elements:
        if header.text:
            row = 2 * len(element.properties)
        else:
            row = sum(np.dtype(p.len_dtype if isinstance(p, PlyListProperty) else p.val_dtype
                               ).itemsize for p in element.properties)
        if not header.text and element.name == "vertex" and needed == 0 \
                and element.count * row > data_bytes:
            raise SplatFileError(path, f"the file is truncated: its header promises "
                                 f"{element.count} vertices (splats) but the data ends after "
                                 f"{data_bytes // max(row, 1)}", SAVE_IT_AGAIN)
        needed += element.count * max(row, 1)
        if needed > data_bytes:
            raise SplatFileError(path, f"its header promises {element.count} '{element.name}' "
                                 f"elements, which need at least {needed} bytes, but the file "
                                 f"has {data_bytes} after the header: it is truncated or "
                                 "its header is wrong", SAVE_IT_AGAIN)


def _vertex_element(path: str, header: PlyData) -> PlyElement:
    names = [element.name for element in header.elements]
    if "vertex" not in names:
        listed = ", ".join(names) if names else "none"
        raise SplatFileError(path, f"the file has no 'vertex' element (its elements: {listed})",
                             CHOOSE_A_SPLAT_FILE)
    vertex = header["vertex"]
    present = {p.name for p in vertex.properties}
    missing = [name for name in REQUIRED if name not in present]
    if missing:
        looks_like = _what_it_looks_like(header, present)
        raise SplatFileError(path, f"the vertex element lacks the splat properties "
                             f"{', '.join(missing)}; {looks_like}", CHOOSE_A_SPLAT_FILE)
    if vertex.count <= 0:
        raise SplatFileError(path, f"the file holds {vertex.count} splats (its header says "
                             f"'element vertex {vertex.count}')",
                             "Export the asset again with its splats, or choose another file")
    return vertex


def _what_it_looks_like(header: PlyData, present: set[str]) -> str:
    not_splats = "not a 3D Gaussian Splatting file"
    if len(header.elements) > 1 or any(isinstance(p, PlyListProperty)
                                       for p in header["vertex"].properties):
        elements = ", ".join(element.name for element in header.elements)
        return f"this looks like a mesh ({elements}), {not_splats}"
    if set(POSITION) <= present:
        return f"this looks like a point cloud, {not_splats}"
    return f"this is {not_splats}"


def _sh_degree(path: str, present: dict) -> int:
    rest = [name for name in present if name.startswith("f_rest_")]
    if len(rest) not in DEGREE_OF_REST_COUNT:
        raise SplatFileError(path, f"the file has {len(rest)} f_rest properties, which is no SH "
                             "degree: degrees 0, 1, 2, 3 have 0, 9, 24, 45",
                             "Re-export it with SH degree 0 to 3, or remove every f_rest "
                             "property to keep the base colours only")
    degree = DEGREE_OF_REST_COUNT[len(rest)]
    expected = set(rest_names(degree))
    if set(rest) != expected:
        odd = sorted(set(rest) - expected)
        raise SplatFileError(path, f"the f_rest properties are not numbered f_rest_0 to "
                             f"f_rest_{len(rest) - 1} (found {', '.join(odd)})", SAVE_IT_AGAIN)
    return degree


def _read_vertex_data(path: str, promised: int) -> np.ndarray:
    """The vertex element's rows as a structured array [N] (memory-mapped when binary)."""
    try:
        return PlyData.read(path)["vertex"].data
    except PlyElementParseError as error:
        element = error.element.name if error.element is not None else "vertex"
        what = "vertices (splats)" if element == "vertex" else f"'{element}' elements"
        count = error.element.count if error.element is not None else promised
        if error.message == "early end-of-file":
            raise SplatFileError(path, f"the file is truncated: its header promises {count} "
                                 f"{what} but the data ends after {error.row}",
                                 SAVE_IT_AGAIN) from None
        prop = f", property {error.prop.name}" if error.prop is not None else ""
        raise SplatFileError(path, f"row {error.row} of the {element} data is malformed "
                             f"({error.message}{prop})", SAVE_IT_AGAIN) from None


def _splats_from_table(table: np.ndarray, names: tuple[str, ...], sh_degree: int,
                       has_normals: bool) -> Splats:
    """table: [N, P] float32 whose columns are the properties names [P]."""
    column = {name: j for j, name in enumerate(names)}

    def take(group):  # [N, len(group)], a fresh C-contiguous array
        return np.ascontiguousarray(table[:, [column[name] for name in group]])

    n, m = len(table), (sh_degree + 1) ** 2 - 1
    rest = take(rest_names(sh_degree)).reshape(n, 3, m).transpose(0, 2, 1)  # [N, M, 3]
    sh = np.ascontiguousarray(np.concatenate([take(DC)[:, None, :], rest], axis=1))  # [N, 1+M, 3]
    return Splats(means=take(POSITION), quats=take(ROTATION), log_scales=take(SCALE),
                  opacity_logits=table[:, column["opacity"]].copy(), sh=sh,
                  normals=take(NORMAL) if has_normals else None)


# Writing.

def write_ply(path, splats: Splats, *, format: PlyFormat = "binary_little_endian") -> None:
    """Writes splats (numpy or torch fields) as an INRIA-layout .ply, float32, in the order
    x y z [nx ny nz] f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3; nx ny nz only when
    splats.normals is not None. The file appears complete or not at all (written beside,
    then renamed). read_ply of the result gives back every value bit for bit."""
    path = os.fspath(path)
    if format not in BYTE_ORDER:
        raise SplatFileError(path, f"{format!r} is no PLY format",
                             f"Use one of {', '.join(BYTE_ORDER)}")
    splats = splats.to_numpy()
    if splats.sh_degree > 3:
        raise SplatFileError(path, f"SH degree {splats.sh_degree} cannot be written: the INRIA "
                             "layout is read here for degrees 0 to 3",
                             "Keep the first 16 coefficients (splats.sh[:, :16]) for degree 3")
    if len(splats) == 0:
        raise SplatFileError(path, "there are no splats to write",
                             "Write at least one splat: a file of zero splats cannot be read")
    names = inria_property_names(splats.sh_degree, splats.normals is not None)
    table = _table_from_splats(splats)  # [N, P] float32, C-contiguous
    rows = table.view(np.dtype([(name, "f4") for name in names]))[:, 0]  # [N] structured
    ply = PlyData([PlyElement.describe(rows, "vertex")], text=format == "ascii",
                  byte_order=BYTE_ORDER[format])
    _write_atomically(path, ply)


def _table_from_splats(splats: Splats) -> np.ndarray:
    n = len(splats)
    rest = splats.sh[:, 1:, :].transpose(0, 2, 1).reshape(n, -1)  # [N, 3M], channel-major
    parts = [splats.means]
    if splats.normals is not None:
        parts.append(splats.normals)
    parts += [splats.sh[:, 0, :], rest, splats.opacity_logits[:, None], splats.log_scales,
              splats.quats]
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def _write_atomically(path: str, ply: PlyData) -> None:
    try:
        with atomic_file(path) as stream:
            ply.write(stream)
    except OSError as error:
        raise SplatFileError(path, f"cannot be written ({error.strerror})",
                             "Check that the folder exists, that the disk has room and that "
                             "you may write there") from None
