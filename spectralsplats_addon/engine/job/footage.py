"""The footage a job names, checked from file headers before any work starts.

    lengths = check_footage(folder, frames, clean, problems)   # {movie path: frame count}

Every image is opened for its header (a file that is not an image is a problem at its field);
every distinct movie is opened once for its length, size and alpha, and every index checked
against its length. Then, frame by frame: each source the size of the first frame's (frames
are not stretched to fit), within MAX_FOOTAGE_SIDE; each matte the size of its source; a
matte read for its "alpha" channel has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import VideoError
from ..video.image_file import MAX_FOOTAGE_SIDE, image_header
from .model import JobSource
from .validate import Problem



@dataclass(frozen=True)
class Header:
    size: tuple[int, int]  # (width, height)
    alpha: bool
    length: int | None     # frames of a movie; None for an image


def check_footage(folder: Path, frames: list, clean, problems: list[Problem]
                  ) -> dict[str, int]:
    """Check the well-formed sources and mattes of job.json's ``frames`` (module docstring);
    ``clean(path)`` tells whether a field passed validation. Returns {movie path: length}."""
    from .folder import resolve

    headers: dict[str, Header | None] = {}
    users: dict[str, int] = {}
    uses = []  # (frame index, "source" | "matte", JobSource, matte channel)
    for i, frame in enumerate(frames):
        for name in ("source", "matte"):
            where = f"frames[{i}].{name}"
            if isinstance(frame, dict) and name in frame and clean(where):
                source = JobSource.from_dict(frame[name])
                channel = frame[name].get("channel", "auto") if name == "matte" else None
                path = str(resolve(folder, source.path))
                users[path] = users.get(path, 0) + 1
                uses.append((i, name, source, channel, path))
    for i, name, source, _, path in uses:
        if path not in headers:
            where = f"frames[{i}].{name}.{source.kind}"
            headers[path] = _header(path, source.kind, where, users[path], problems)
    first = None  # (field path, size) of the first source
    sizes: dict[int, tuple[int, int]] = {}
    for i, name, source, channel, path in uses:
        header = headers[path]
        if header is None:
            continue
        where = f"frames[{i}].{name}"
        if header.length is not None and source.index >= header.length:
            problems.append((f"{where}.index", f"frame {source.index} is beyond the end of the "
                                               f"movie: {Path(path).name} has {header.length} "
                                               f"frames, indices 0 to {header.length - 1}"))
        w, h = header.size
        if name == "source":
            if first is None:
                first = (where, header.size)
            if header.size == first[1]:
                sizes[i] = header.size  # its matte is compared with it
            else:
                problems.append((where, f"{Path(path).name} is {w} x {h} but {first[0]} is "
                                        f"{first[1][0]} x {first[1][1]}; every frame of a job "
                                        "must be the same size (they are not stretched)"))
        elif i in sizes and header.size != sizes[i]:
            problems.append((where, f"the matte {Path(path).name} is {w} x {h} but its "
                                    f"footage is {sizes[i][0]} x {sizes[i][1]}; render the "
                                    "matte at the footage's resolution"))
        elif channel == "alpha" and not header.alpha:
            problems.append((f"{where}.channel", f"\"alpha\" but {Path(path).name} has no "
                                                 "alpha channel; use \"luminance\" for a "
                                                 "black-and-white matte, or \"auto\""))
    return {path: h.length for path, h in headers.items()
            if h is not None and h.length is not None}


def _header(path: str, kind: str, where: str, uses: int, problems: list[Problem]
            ) -> Header | None:
    from ..video import open_frames

    used_by = f" ({uses} frames use it)" if uses > 1 and kind == "movie" else ""
    if not Path(path).is_file():
        what = "is a folder, not a file" if Path(path).is_dir() else "file not found"
        problems.append((where, f"{what}: {path}{used_by}; check the path (relative paths "
                                "are relative to the job folder)"))
        return None
    try:
        if kind == "movie":
            with open_frames(path) as source:
                header = Header(tuple(source.size), bool(source.has_alpha), len(source))
        else:
            size, alpha = image_header(Path(path))
            header = Header(tuple(size), alpha, None)
    except VideoError as error:
        problems.append((where, f"cannot be read{used_by}: {error}"))
        return None
    if max(header.size) > MAX_FOOTAGE_SIDE or min(header.size) < 1:
        problems.append((where, f"{Path(path).name} is {header.size[0]} x {header.size[1]}; "
                                f"footage may be at most {MAX_FOOTAGE_SIDE} pixels a side: "
                                "scale it down first"))
        return None
    return header


__all__ = ["MAX_FOOTAGE_SIDE", "check_footage"]
