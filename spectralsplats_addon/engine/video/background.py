"""A clip's background, estimated for a locked-off camera: the per-pixel temporal median.

    estimate = estimate_background(frames)       # frames [T, H, W, 3] float32 in [0, 1]
    estimate.image                               # [H, W, 3]
    estimate.reliability                         # share of pixels that hold still

A pixel holds still when its median absolute deviation over time is under ``STILL_SPREAD``
(noise and compression stay well under it; a moving object or a panning camera do not). The
median is the background where the object covers a pixel in fewer than half of the frames;
a camera that moves, or an object that stays in place for most of the clip, leaves the
object or a smear in it. ``reliable`` is False below ``RELIABLE_SHARE`` of still pixels, and
``coverage`` (the share of pixels the object or the camera's motion touches) says how much
of the image changed at all. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import VideoError

STILL_SPREAD = 0.04    # a pixel's median |I_t - median| under this holds still
CHANGED = 0.1          # a pixel whose largest |I_t - median| passes this has changed
RELIABLE_SHARE = 0.8   # an estimate with fewer still pixels than this is unreliable
MIN_FRAMES = 3


@dataclass(frozen=True)
class BackgroundEstimate:
    """image [H, W, 3] float32; reliability and coverage in [0, 1]; frames used."""

    image: np.ndarray
    reliability: float
    coverage: float
    frames: int

    @property
    def reliable(self) -> bool:
        return self.reliability >= RELIABLE_SHARE

    def describe(self) -> str:
        """One line for a log or a warning."""
        text = (f"background estimated from {self.frames} frames: {self.reliability:.0%} of "
                f"the pixels hold still, {self.coverage:.0%} change")
        if not self.reliable:
            text += (" (unreliable: the camera may move, or the clip is too short or too "
                     "noisy; give a clean plate or a matte)")
        return text


def estimate_background(frames: np.ndarray) -> BackgroundEstimate:
    """The temporal median of ``frames`` [T, H, W, 3] (T >= 3) and its reliability."""
    stack = np.asarray(frames, dtype=np.float32)
    if stack.ndim != 4 or stack.shape[-1] != 3:
        raise VideoError(None, f"a background estimate needs frames [T, H, W, 3], got shape "
                               f"{list(stack.shape)}", "stack the clip's RGB frames")
    if stack.shape[0] < MIN_FRAMES:
        raise VideoError(None, f"a background estimate needs at least {MIN_FRAMES} frames, "
                               f"got {stack.shape[0]}",
                         "track more frames, or give a clean plate or a matte")
    median = np.median(stack, axis=0)
    deviation = np.abs(stack - median[None]).max(axis=-1)  # [T, H, W], worst channel
    spread = np.median(deviation, axis=0)
    still = float((spread < STILL_SPREAD).mean())
    changed = float((deviation.max(axis=0) > CHANGED).mean())
    return BackgroundEstimate(median.astype(np.float32), still, changed, int(stack.shape[0]))


def visible_share(frames: np.ndarray, background: np.ndarray) -> float:
    """The mean share of a frame's pixels that differ from ``background`` [H, W, 3] by more
    than CHANGED: frames [T, H, W, 3]. Where the object hardly moves, the median keeps it
    and this share falls well below the object's own (``swallowed``)."""
    stack = np.asarray(frames, dtype=np.float32)
    return float((np.abs(stack - background[None]).max(axis=-1) > CHANGED).mean())


def swallowed(visible: float, footprint: float) -> bool:
    """Whether an estimate shows less than half of the object: ``visible`` (visible_share)
    against ``footprint``, the share of the image the object's render covers."""
    return footprint > 0 and visible < 0.5 * footprint


__all__ = ["BackgroundEstimate", "estimate_background", "visible_share", "swallowed",
           "STILL_SPREAD", "RELIABLE_SHARE"]
