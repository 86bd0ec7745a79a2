"""The shots of a batch: job folders named one by one, a folder holding job folders, or a
shot list (a text file, one job folder a line, relative to the list; # starts a comment).

    find_shots(["shots/"]) -> [Path("shots/shot_010"), Path("shots/shot_020")]
    write_shot_list("farm/shots.txt", folders)    # the list `spectralsplats batch` takes

Every problem (a path that is none of these, a folder named twice) is found before any shot
runs, and reported together in one ShotListError.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.atomic import atomic_file
from ..engine.errors import SpectralSplatsError

JOB_FILE = "job.json"  # engine.job.folder.JOB_FILE, without importing the engine's numpy side


class ShotListError(SpectralSplatsError, ValueError):
    """Shots that cannot be run; ``problems`` lists (path, what is wrong and the fix)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"{path}: {message}" for path, message in problems]
        super().__init__(f"{len(problems)} shot path(s) cannot be used; fix them and run the "
                         "batch again:\n" + "\n".join(lines))


def is_job_folder(path: Path) -> bool:
    return (path / JOB_FILE).is_file()


def shots_in(path: Path) -> list[Path] | str:
    """The job folders ``path`` names, or why it names none."""
    if path.is_dir():
        if is_job_folder(path):
            return [path]
        found = sorted(child for child in path.iterdir()
                       if child.is_dir() and is_job_folder(child))
        return found or (f"no {JOB_FILE} in this folder or in any folder directly inside it; "
                         "name job folders (written by Blender's Export Shots for the Farm "
                         "or by spectralsplats track)")
    if path.is_file() and path.name != JOB_FILE:
        return shot_list(path)
    if path.name == JOB_FILE and path.is_file():
        return [path.parent]
    return "not found; name a job folder, a folder of job folders or a shot list"


def shot_list(path: Path) -> list[Path] | str:
    """The job folders of a shot list file (one a line, relative to the file)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot read it as a shot list ({error}); give a text file, one job folder a line"
    folders, bad = [], []
    for number, line in enumerate(lines, 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        folder = Path(entry) if Path(entry).is_absolute() else path.parent / entry
        (folders if is_job_folder(folder) else bad).append((number, folder))
    if bad:
        number, folder = bad[0]
        return (f"line {number}: {folder} holds no {JOB_FILE} ({len(bad)} line(s) like this); "
                "each line names a job folder, relative to the list")
    return [folder for _, folder in folders] or "the shot list names no job folder"


def find_shots(paths: list[str | Path]) -> list[Path]:
    """The job folders (resolved, in the order given) that ``paths`` name; ShotListError
    lists every path that names none, and every folder named twice."""
    if not paths:
        raise ShotListError([("SHOTS", "no shot given; name job folders, a folder of them "
                                       "or a shot list")])
    folders, problems, seen = [], [], {}
    for given in paths:
        found = shots_in(Path(given))
        if isinstance(found, str):
            problems.append((str(given), found))
            continue
        for folder in found:
            folder = folder.resolve()
            if folder in seen:
                problems.append((str(given), f"{folder} is already in the batch (from "
                                             f"{seen[folder]}); name each shot once"))
                continue
            seen[folder] = str(given)
            folders.append(folder)
    if problems:
        raise ShotListError(problems)
    return folders


def write_shot_list(path, folders: list[Path]) -> Path:
    """Write a shot list at ``path``: one job folder a line, relative to the list where it
    lies under the list's folder. Written beside its place and renamed (atomic)."""
    path = Path(path)
    base = path.parent.resolve()
    lines = []
    for folder in folders:
        folder = Path(folder).resolve()
        lines.append(folder.relative_to(base).as_posix() if folder.is_relative_to(base)
                     else str(folder))
    with atomic_file(path) as handle:
        handle.write("".join(line + "\n" for line in lines).encode("utf-8"))
    return path


def read_shot_list(path) -> list[Path]:
    """The job folders a shot list names; ShotListError if it names none or a bad one."""
    found = shot_list(Path(path))
    if isinstance(found, str):
        raise ShotListError([(str(path), found)])
    return found
