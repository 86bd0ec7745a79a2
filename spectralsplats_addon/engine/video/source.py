"""The interface every frame source shares: movies, image sequences, and the wrappers that
add a matte or resample to the tracking resolution.

    with open_frames("shot.mp4") as frames:    # a FrameSource
        len(frames), frames.size, frames.fps   # frame count, (width, height), float or None
        frame = frames.read(0)                 # FrameImage, index 0 = first frame shown
        for frame in frames: ...               # every frame in order (decoded sequentially)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator

from ..errors import FrameRangeError, VideoError
from .frame import FrameImage


class FrameSource(ABC):
    """Frames addressed by index 0 .. len - 1. Subclasses implement ``_read``."""

    path: str  # the file, pattern or folder this source reads

    @abstractmethod
    def __len__(self) -> int: ...

    @property
    @abstractmethod
    def size(self) -> tuple[int, int]:
        """(width, height) of every frame this source returns."""

    @property
    @abstractmethod
    def fps(self) -> float | None:
        """Frames per second (a movie's average rate; a sequence's only if it was given)."""

    @property
    @abstractmethod
    def has_alpha(self) -> bool:
        """Whether frames carry alpha (from the file or from a matte)."""

    @abstractmethod
    def _read(self, index: int) -> FrameImage: ...

    def read(self, index: int) -> FrameImage:
        """Frame ``index``: 0 is the first frame shown. Raises FrameRangeError outside."""
        return self._read(self.check_index(index))

    def check_index(self, index) -> int:
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise VideoError(self.path, f"frame index must be a whole number, got {index!r}",
                             "pass an int between 0 and len(source) - 1")
        index = int(index)
        count = len(self)
        if not 0 <= index < count:
            raise FrameRangeError(self.path, f"frame index {index} is out of range: it has "
                                             f"{count} frames, valid indices are 0 to "
                                             f"{count - 1}",
                                  "check the strip's frame offsets against the footage length")
        return index

    def __getitem__(self, index: int) -> FrameImage:
        return self.read(index)

    def __iter__(self) -> Iterator[FrameImage]:
        for index in range(len(self)):
            yield self._read(index)

    def close(self) -> None:
        """Release open files; the base class holds none."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        w, h = self.size
        return (f"{type(self).__name__}({self.path!r}, {len(self)} frames, {w} x {h}, "
                f"fps={self.fps}, alpha={self.has_alpha})")
