"""The worker's output in a job folder: the result path checked before any work, stale
.part files removed, and a lock so that one worker at a time runs a job.

    path = prepare_result(folder, "result.npz")   # Path, or JobError at outputs.result
    with JobLock(folder):                         # JobError at job.lock if a worker holds it
        ...

The lock is an operating-system lock (flock, or msvcrt on Windows) on ``job.lock``, held
while the worker runs: it goes with the process however that ends, so a killed worker never
leaves a job locked (a file left by a killed worker is taken over). The file holds the
holder's process id, for the message, and is removed when the worker ends.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import JobError
from ..atomic import inside, part_path, remove_entry

LOCK_FILE = "job.lock"


def prepare_result(folder, relative: str) -> Path:
    """The result's absolute path (the job folder resolved, the name as written), its folder
    created inside the job folder, a stale ``.part`` removed. JobError at outputs.result when
    the path leads out of the job folder through a link or names a folder."""
    folder = Path(folder).resolve()
    path = folder / relative
    problem = None
    if not inside(folder, path):
        problem = "its folder is a link that leads out of the job folder; remove the link"
    elif path.is_dir() and not path.is_symlink():
        problem = f"{path} is a folder; name a file (result.npz) or remove the folder"
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = f"its folder cannot be created ({error.strerror}); check the job folder"
    if problem is not None:
        raise JobError(folder, [("outputs.result", problem)])
    remove_entry(part_path(path))
    return path


class JobLock:
    """Held while a worker runs the job in ``folder`` (module docstring)."""

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> "JobLock":
        while True:
            fd = self._open()
            if not _try_lock(fd):
                holder = _holder(fd)
                os.close(fd)
                raise JobError(self.path.parent, [(LOCK_FILE, f"another worker (process "
                                                              f"{holder}) is running this "
                                                              "job; wait for it or stop it")])
            if _is_at(fd, self.path):
                break
            _unlock(fd)  # the file of a worker that has just ended: open the new one
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.fd = fd
        return self

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            return os.open(self.path, flags, 0o644)
        except OSError as error:
            raise JobError(self.path.parent, [(LOCK_FILE, f"cannot be opened ({error.strerror})"
                                                          "; remove it if it is a link")]) from None

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        if os.name != "nt":
            remove_entry(self.path)  # while still locked: a waiting worker opens a new file
        _unlock(self.fd)
        os.close(self.fd)
        self.fd = None
        if os.name == "nt":  # an open file cannot be removed there
            try:
                remove_entry(self.path)
            except OSError:
                pass


def _holder(fd: int) -> str:
    try:
        return os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
    except OSError:  # Windows: the holder's locked byte cannot be read
        return "unknown"


def _is_at(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is the file now at ``path``."""
    try:
        here = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def _try_lock(fd: int) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


__all__ = ["LOCK_FILE", "JobLock", "prepare_result"]
