"""One decoded frame: straight colour and, where the source has it, alpha, kept apart."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .compositing import composite_alpha
from .resize import resize_area


@dataclass(frozen=True)
class FrameImage:
    """A frame of a FrameSource.

    rgb:    [H, W, 3] float32 in [0, 1], straight (not premultiplied) colour
    alpha:  [H, W] float32 in [0, 1], or None where the source has no alpha and no matte
    index:  position in the source, 0 = the first frame shown
    number: the frame's own number: the file's frame number in an image sequence (e.g. 1001
            for shot_1001.png), the index for a movie
    time:   presentation time in seconds as stored in a movie (start offset included), or
            index / fps for a sequence with a frame rate, else None
    path:   the file it was read from
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    index: int
    number: int
    time: float | None
    path: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    @property
    def rgba(self) -> np.ndarray:  # [H, W, 4]
        """Colour and alpha stacked; opaque (alpha 1) where the frame has no alpha."""
        alpha = np.ones(self.rgb.shape[:2], np.float32) if self.alpha is None else self.alpha
        return np.dstack([self.rgb, alpha])

    def composited(self, background=(0.0, 0.0, 0.0)) -> np.ndarray:  # [H, W, 3]
        """rgb * alpha + background * (1 - alpha); the colour itself where there is no alpha."""
        if self.alpha is None:
            return self.rgb.copy()
        return composite_alpha(self.rgb, self.alpha, background)

    def resized(self, width: int, height: int) -> "FrameImage":
        """The frame resampled to width x height (see resize.py).

        Colour is averaged weighted by alpha, c' = avg(c * a) / avg(a), so that transparent
        pixels do not bleed into the edge and compositing commutes with resizing:
        composite(resized) == resized(composite).
        """
        if self.alpha is None:
            return replace(self, rgb=resize_area(self.rgb, width, height))
        alpha = resize_area(self.alpha, width, height)
        weighted = resize_area(self.rgb * self.alpha[..., None], width, height)
        a = alpha[..., None]
        rgb = np.divide(weighted, a, out=np.zeros_like(weighted), where=a > 1e-12)
        return replace(self, rgb=np.clip(rgb, 0.0, 1.0), alpha=np.clip(alpha, 0.0, 1.0))

