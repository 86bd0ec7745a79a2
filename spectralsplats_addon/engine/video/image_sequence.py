"""Image sequences read with Pillow: index i is the i-th file (sequence_files.py gives the
order); every image must have the size of the first."""

from __future__ import annotations

import numpy as np

from ..errors import VideoError
from .compositing import unpremultiply
from .frame import FrameImage
from .image_file import image_size, read_image
from .sequence_files import list_sequence
from .source import FrameSource


class ImageSequenceSource(FrameSource):
    """Frames from image files.

    spec:          a printf pattern, hashes, a glob, a folder, or a list of files
    fps:           the sequence's frame rate, if known (images carry none)
    premultiplied: the files store premultiplied colour; it is made straight on read
    check_sizes:   read every file's header on opening, so that a file of another size is
                   reported before any work starts (else when that frame is read)
    """

    def __init__(self, spec, *, fps: float | None = None, premultiplied: bool = False,
                 check_sizes: bool = True):
        self.path = str(spec) if not isinstance(spec, (list, tuple)) else \
            f"[{len(spec)} files starting {spec[0] if spec else ''}]"
        self.files = list_sequence(spec)
        self.premultiplied = premultiplied
        if fps is not None and not fps > 0:
            raise VideoError(self.path, f"fps must be positive, got {fps}",
                             "pass the footage's frame rate, or None")
        self._fps = None if fps is None else float(fps)
        first = self.files[0].path
        self._size = image_size(first)
        rgb, alpha = read_image(first)
        self._has_alpha = alpha is not None
        if check_sizes:
            for f in self.files[1:]:
                self.check_size(f.path, image_size(f.path))

    def check_size(self, path, size: tuple[int, int]) -> None:
        if size != self._size:
            raise VideoError(path, f"it is {size[0]} x {size[1]} but the sequence's first "
                                   f"image {self.files[0].path.name} is {self._size[0]} x "
                                   f"{self._size[1]}", "every image of a sequence must have "
                                                       "the same size: re-render or resize it")

    @property
    def numbers(self) -> list[int | None]:
        """The frame number in each file's name, in index order."""
        return [f.number for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def has_alpha(self) -> bool:
        return self._has_alpha

    def _read(self, index: int) -> FrameImage:
        file = self.files[index]
        rgb, alpha = read_image(file.path)
        self.check_size(file.path, (rgb.shape[1], rgb.shape[0]))
        if alpha is None and self._has_alpha:
            alpha = np.ones(rgb.shape[:2], np.float32)
        elif alpha is not None and not self._has_alpha:
            alpha = None  # the first image sets whether the sequence has alpha
        if alpha is not None and self.premultiplied:
            rgb = unpremultiply(rgb, alpha)
        number = index if file.number is None else file.number
        time = None if self._fps is None else index / self._fps
        return FrameImage(rgb=rgb, alpha=alpha, index=index, number=number, time=time,
                          path=str(file.path))
