"""Whether the CPU renderer's compiled kernels are in numba's on-disk cache.

The "numba" backend compiles its kernels on first use (about half a minute) and caches them
beside their sources (``__pycache__``) or under ``NUMBA_CACHE_DIR``; later runs load them in
a second. The worker asks before tracking so that the first run can say it is compiling.
Numba is not imported here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ENGINE = Path(__file__).resolve().parents[1]
KERNEL_SOURCES = (  # the modules whose kernels a CPU track compiles
    _ENGINE / "render" / "_numba_projection_kernels.py",
    _ENGINE / "render" / "_numba_rasterize_kernels.py",
    _ENGINE / "render" / "numba_helpers.py",
    _ENGINE / "deform" / "_numba_skinning_kernels.py",
)


def _index_files(source: Path) -> list[Path]:
    """numba's index files (.nbi) for the kernels of ``source``, wherever the cache is."""
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    pattern = f"{source.stem}.*.{tag}.nbi"
    folders = [source.parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        folders.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    return [path for folder in folders if folder.is_dir() for path in folder.rglob(pattern)]


def kernels_cached() -> bool:
    """True when every kernel module has cache entries newer than its source (numba then
    loads instead of compiling)."""
    for source in KERNEL_SOURCES:
        if not source.is_file():
            continue
        stamp = source.stat().st_mtime
        if not any(index.stat().st_mtime >= stamp for index in _index_files(source)):
            return False
    return True


__all__ = ["kernels_cached", "KERNEL_SOURCES"]
