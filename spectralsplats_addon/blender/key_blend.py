"""Re-tracking part of a shot without jumps, and keeping the frames the user locked.

Locked frames are scene frames listed on the splat object (``spectralsplats_locked_frames``);
a bake never replaces their keys. Where a new track meets keys it does not replace (the
baked frames just outside its range, and locked frames inside it), it is blended into them:
at distance d frames from the nearest such anchor the new value gets weight
min(1, d / (BLEND_FRAMES + 1)), the keys there before (the curve evaluated) the rest.
"""

from __future__ import annotations

import numpy as np

LOCKED_PROPERTY = "spectralsplats_locked_frames"
BLEND_FRAMES = 2  # frames over which a new track fades in from an anchor


def locked_frames(obj) -> list[int]:
    """The scene frames the user locked on obj, sorted."""
    return sorted(int(f) for f in obj.get(LOCKED_PROPERTY, []))


def set_locked(obj, frame: int, locked: bool) -> list[int]:
    """Locks or unlocks one frame on obj; returns the locked frames."""
    frames = set(locked_frames(obj))
    frames = frames | {int(frame)} if locked else frames - {int(frame)}
    obj[LOCKED_PROPERTY] = sorted(frames)
    return sorted(frames)


def _key_frames(fc) -> np.ndarray:
    co = np.empty(len(fc.keyframe_points) * 2, dtype=np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co[0::2]


def anchors(fc, frames: np.ndarray, locked: list[int]) -> list[int]:
    """Frames whose keys the new track [frames] must meet: a key just outside its range on
    either side (the nearest), and locked frames inside it."""
    keys = _key_frames(fc)
    lo, hi = int(frames.min()), int(frames.max())
    found = [int(f) for f in locked if lo <= f <= hi]
    before, after = keys[keys < lo], keys[keys > hi]
    if len(before):
        found.append(int(round(before.max())))
    if len(after):
        found.append(int(round(after.min())))
    return found


def blend_weights(frames: np.ndarray, anchor_frames: list[int],
                  width: int = BLEND_FRAMES) -> np.ndarray:
    """[F] the new track's weight at each frame: min(1, distance to the nearest anchor /
    (width + 1)); all ones without anchors."""
    frames = np.asarray(frames, dtype=np.float64)
    if not anchor_frames:
        return np.ones_like(frames)
    distance = np.min(np.abs(frames[:, None] - np.asarray(anchor_frames, float)[None, :]), 1)
    return np.minimum(1.0, distance / (width + 1))


def merged_keys(fc, frames: np.ndarray, values: np.ndarray, locked: list[int],
                width: int = BLEND_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """(frames, values) to key on fc: the new track [F] blended into fc's keys at its
    anchors, locked frames left out (their keys stay)."""
    frames = np.asarray(frames)
    values = np.asarray(values, dtype=np.float64)
    if len(fc.keyframe_points):
        weights = blend_weights(frames, anchors(fc, frames, locked), width)
        old = np.array([fc.evaluate(float(f)) for f in frames])
        values = weights * values + (1.0 - weights) * old
    keep = ~np.isin(frames, locked)
    return frames[keep], values[keep]


__all__ = ["LOCKED_PROPERTY", "BLEND_FRAMES", "locked_frames", "set_locked", "anchors",
           "blend_weights", "merged_keys"]
