"""Files written whole or not at all, and never through a symbolic link.

    with atomic_file(folder / "result.npz") as handle:   # writes result.npz.part, renames it
        np.savez(handle, ...)
    handle = open_new(folder / "worker.log")              # a fresh file, no link followed

``open_new`` removes whatever is at the path first (a stale file or a link, never the link's
target) and creates the file with O_EXCL | O_NOFOLLOW: if a link appears in between, the open
fails instead of writing elsewhere. ``atomic_file`` writes ``<name>.part`` so, renames it over
the path (a rename replaces a link, it does not follow it) and removes the part on any error.
``inside`` tells whether a path's folder lies in a given folder once links are resolved.
Standard library only: the Blender layer uses it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

PART_SUFFIX = ".part"
NEW_FILE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                  | getattr(os, "O_BINARY", 0))


def part_path(path) -> Path:
    """Where ``atomic_file`` writes before the rename: ``<path>.part``."""
    path = Path(path)
    return path.with_name(path.name + PART_SUFFIX)


def remove_entry(path) -> None:
    """Remove the file or link at ``path`` (never a link's target); nothing there is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def open_new(path) -> BinaryIO:
    """``path`` opened for writing as a new, empty file; a file or link there is removed
    first. OSError (ELOOP, EEXIST, ...) if something is put there meanwhile."""
    remove_entry(path)
    return os.fdopen(os.open(path, NEW_FILE_FLAGS, 0o644), "wb")


@contextmanager
def atomic_file(path, part=None) -> Iterator[BinaryIO]:
    """A handle on ``part`` (default ``<path>.part``), renamed over ``path`` when the block
    ends without error; removed when it raises."""
    path = Path(path)
    part = part_path(path) if part is None else Path(part)
    handle = open_new(part)
    try:
        with handle:
            yield handle
        os.replace(part, path)
    except BaseException:
        remove_entry(part)
        raise


def inside(folder, path) -> bool:
    """Whether ``path``'s folder is ``folder`` or lies in it, with links resolved; ``path``
    itself is not resolved (writes replace a link there, they do not follow it)."""
    base = Path(folder).resolve()
    parent = Path(os.path.abspath(path)).parent.resolve()
    return parent == base or base in parent.parents


__all__ = ["PART_SUFFIX", "part_path", "remove_entry", "open_new", "atomic_file", "inside"]
