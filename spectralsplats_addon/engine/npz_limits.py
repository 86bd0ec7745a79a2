"""A bound on what an .npz may unpack to, checked from its directory and array headers
before any array is read: a small file that expands without bound (a zip bomb, or a header
claiming terabytes) is refused instead of exhausting memory.

    problem = npz_size_problem(path)   # None, or what is wrong, in words

numpy and the standard library only: the Blender layer reads result.npz and rig.npz.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

MAX_EXPANSION = 100      # the arrays may hold at most this many times the file's size ...
MIN_ALLOWANCE = 1 << 20  # ... or 1 MiB, whichever is more (np.savez stores them as they are)


def npz_size_problem(path) -> str | None:
    """None when the arrays in the .npz at ``path`` fit the bound (module docstring). Raises
    zipfile.BadZipFile, OSError or ValueError for a file that is not a readable .npz."""
    path = Path(path)
    allowed = max(MIN_ALLOWANCE, MAX_EXPANSION * path.stat().st_size)
    stored = arrays = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            stored += info.file_size
            if info.filename.endswith(".npy"):
                with archive.open(info) as member:
                    major, _ = np.lib.format.read_magic(member)
                    read_header = (np.lib.format.read_array_header_1_0 if major == 1
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(member)
                arrays += math.prod(shape) * dtype.itemsize
    claimed = max(stored, arrays)
    if claimed > allowed:
        return (f"its arrays claim {claimed:.3g} bytes, more than {MAX_EXPANSION} times the "
                f"file's {path.stat().st_size} bytes")
    return None


__all__ = ["MAX_EXPANSION", "MIN_ALLOWANCE", "npz_size_problem"]
