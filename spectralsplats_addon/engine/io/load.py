"""Reading a splat file of either format: check that it is a file, pick the reader, and
refuse (or, when asked, drop) the splats no renderer can use."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

from ..errors import SplatFileError
from ..splats import Splats
from .decoded import DecodedFile
from .ply import SAVE_IT_AGAIN, read_ply
from .splat_format import read_splat_file

DROP_INVALID_HINT = ("Pass drop_invalid=True to load_splats or read_splats (in Blender, tick "
                     "Drop Invalid Splats in the import options) to read the file without them")


@dataclass(frozen=True)
class ReadReport:
    """What load_splats read.

    path:               the file, as given
    count:              splats returned (after any dropped)
    sh_degree:          0 to 3
    has_normals:        whether the file carries nx, ny, nz
    format:             "binary_little_endian", "binary_big_endian", "ascii" or "splat"
    dropped:            invalid splats left out (only with drop_invalid=True)
    dropped_reasons:    "nan_or_inf" / "zero_quaternion" -> splats (one may count under both)
    ignored_properties: properties in the file that Splats does not hold (e.g. red, filter_3D)
    """

    path: str
    count: int
    sh_degree: int
    has_normals: bool
    format: str
    dropped: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    ignored_properties: tuple[str, ...] = ()


def load_splats(path, drop_invalid: bool = False) -> tuple[Splats, ReadReport]:
    """Reads a .ply (INRIA layout) or a .splat file: Splats of numpy float32 arrays, and a
    report. Splats holding NaN/Inf or a zero-length quaternion make it raise SplatFileError,
    unless drop_invalid=True, which leaves them out and counts them in the report."""
    path = os.fspath(path)
    decoded = _decode(path)
    splats, invalid = decoded.splats, decoded.invalid
    if invalid.count and not drop_invalid:
        raise SplatFileError(path, invalid.describe(), DROP_INVALID_HINT)
    if invalid.count == len(splats):
        raise SplatFileError(path, invalid.describe() + ", so none is left",
                             "Export the asset again from the software that made it")
    if invalid.count:
        splats = splats.subset(~invalid.mask)
    report = ReadReport(path=path, count=len(splats), sh_degree=splats.sh_degree,
                        has_normals=splats.normals is not None, format=decoded.format,
                        dropped=invalid.count, dropped_reasons=invalid.reasons(),
                        ignored_properties=decoded.ignored_properties)
    return splats, report


def read_splats(path, drop_invalid: bool = False) -> Splats:
    """load_splats(path, drop_invalid)[0]; warns (UserWarning) when it dropped splats."""
    splats, report = load_splats(path, drop_invalid)
    if report.dropped:
        reasons = ", ".join(f"{n} {reason}" for reason, n in report.dropped_reasons.items())
        warnings.warn(f"{report.path}: dropped {report.dropped} invalid splats of "
                      f"{report.dropped + report.count} ({reasons})", stacklevel=2)
    return splats


def _decode(path: str) -> DecodedFile:
    if not os.path.exists(path):
        raise SplatFileError(path, "no such file", "Check the folder and the file name")
    if os.path.isdir(path):
        raise SplatFileError(path, "this is a folder, not a file",
                             "Choose the .ply or .splat file inside it")
    try:
        if os.path.getsize(path) == 0:
            raise SplatFileError(path, "the file is empty (0 bytes)", SAVE_IT_AGAIN)
        with open(path, "rb") as stream:
            is_ply = stream.read(3) == b"ply"
        if not is_ply and path.lower().endswith(".splat"):
            return read_splat_file(path)
        return read_ply(path)  # which says so when the file is not a PLY either
    except OSError as error:
        raise SplatFileError(path, f"cannot be read ({error.strerror})",
                             "Check that the file is readable by you and try again") from None
