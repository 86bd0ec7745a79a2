"""A source whose frames are resampled to the tracking resolution on read (resize.py)."""

from __future__ import annotations

from ..conventions import Camera
from .frame import FrameImage
from .resize import check_size, scale_camera
from .source import FrameSource


class ResizedSource(FrameSource):
    """``source`` with every frame resampled to width x height (alpha-weighted colour)."""

    def __init__(self, source: FrameSource, width: int, height: int):
        self.source = source
        self.path = source.path
        self._size = check_size(width, height)

    @property
    def source_size(self) -> tuple[int, int]:
        """(width, height) of the footage itself."""
        return self.source.size

    def camera(self, camera: Camera) -> Camera:
        """A camera of the footage's resolution -> the same camera at the tracking size."""
        return scale_camera(camera, *self._size)

    def __len__(self) -> int:
        return len(self.source)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float | None:
        return self.source.fps

    @property
    def has_alpha(self) -> bool:
        return self.source.has_alpha

    def _read(self, index: int) -> FrameImage:
        return self.source.read(index).resized(*self._size)

    def close(self) -> None:
        self.source.close()
