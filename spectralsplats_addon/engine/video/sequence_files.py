"""Which files make an image sequence, in which order, with which frame numbers.

A sequence is named by one of:
- a printf pattern, "shot/frame_%04d.png" (or Blender's hashes, "shot/frame_####.png"): the
  files whose names it prints for some whole number, that number being the frame number;
- a glob, "shot/frame_*.png": the matching files, frame number = last run of digits;
- a folder: every image file in it, frame number = last run of digits in the name;
- a list of files: taken in the order given, frame numbers from the names.
Patterns, globs and folders are sorted numerically by frame number (then by name), so
frame_10.png follows frame_9.png. Index i is the i-th file; gaps in the numbering are not
filled (the file's own number stays available).
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import VideoError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".tga", ".exr",
                  ".dpx", ".gif")
PRINTF = re.compile(r"%(0?\d*)d")
HASHES = re.compile(r"#+")
LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class SequenceFile:
    number: int | None  # the frame number in the file's name (None if it has no digits)
    path: Path


def is_sequence_spec(spec) -> bool:
    """Whether open_frames should read ``spec`` as an image sequence (not a movie)."""
    if isinstance(spec, (list, tuple)):
        return True
    text = str(spec)
    if PRINTF.search(text) or HASHES.search(Path(text).name) or glob.has_magic(text):
        return True
    return Path(text).is_dir() or Path(text).suffix.lower() in IMAGE_SUFFIXES


def list_sequence(spec) -> list[SequenceFile]:
    """The files of a sequence, in index order (see the module docstring)."""
    if isinstance(spec, (list, tuple)):
        files = [SequenceFile(number_in(Path(p).name), Path(p)) for p in spec]
        if not files:
            raise VideoError(None, "the list of image files is empty", "give at least one file")
        return files
    text = str(spec)
    name = Path(text).name
    if HASHES.search(name):
        text = str(Path(text).with_name(HASHES.sub(lambda m: f"%0{len(m.group())}d", name)))
    if PRINTF.search(Path(text).name):
        files = from_printf(text)
    elif glob.has_magic(text):
        files = [SequenceFile(number_in(Path(p).name), Path(p)) for p in glob.glob(text)
                 if Path(p).is_file()]
    elif Path(text).is_dir():
        files = [SequenceFile(number_in(p.name), p) for p in Path(text).iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    else:
        files = [SequenceFile(number_in(name), Path(text))]
    if not files:
        raise VideoError(spec, "no image files match it", "check the folder and the pattern "
                         "(printf as frame_%04d.png, hashes as frame_####.png, or a glob)")
    return sorted(files, key=lambda f: (f.number is None, f.number or 0, f.path.name))


def from_printf(pattern: str) -> list[SequenceFile]:
    """Files in the pattern's folder whose name the pattern prints for their number."""
    folder, name = Path(pattern).parent, Path(pattern).name
    if not folder.is_dir():
        raise VideoError(pattern, f"the folder {folder} does not exist", "check the path")
    if len(PRINTF.findall(name)) != 1:
        raise VideoError(pattern, "a sequence pattern needs exactly one frame number field",
                         "use one %d, %04d or #### in the file name")
    head, tail = PRINTF.split(name, maxsplit=1)[0], PRINTF.split(name, maxsplit=1)[-1]
    matcher = re.compile(re.escape(head) + r"(-?\d+)" + re.escape(tail) + r"\Z")
    files = []
    for path in folder.iterdir():
        found = matcher.match(path.name)
        if found and path.is_file() and (name % int(found.group(1))) == path.name:
            files.append(SequenceFile(int(found.group(1)), path))
    return files


def number_in(name: str) -> int | None:
    """The last run of digits in a file name's stem: 'shot_v2_1001.png' -> 1001."""
    found = LAST_DIGITS.search(Path(name).stem)
    return int(found.group(1)) if found else None
