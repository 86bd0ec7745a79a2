"""How well each tracked frame fits its plate, kept with the bake and shown on the timeline.

The PSNR of every tracked frame (dB, the tracker's render against the footage) is keyed on
the splat object's custom property ``spectralsplats_psnr`` (an F-curve the Graph Editor and
Dope Sheet show), and each frame below the Track panel's Flag Below threshold gets a
timeline marker named ``low fit <PSNR> dB``. A later bake over the same frames replaces both.
"""

from __future__ import annotations

import numpy as np

from .keyframes import ensure_fcurve, fcurves_of, write_keys

PSNR_PROPERTY = "spectralsplats_psnr"
MARKER_PREFIX = "low fit"


def low_frames(frames: np.ndarray, psnr: np.ndarray, threshold: float) -> list[int]:
    """Scene frames [F] whose PSNR [F] is below threshold (NaN counts as low: unknown)."""
    return [int(f) for f, p in zip(frames, psnr) if not p >= threshold]


def quality_summary(frames: np.ndarray, psnr: np.ndarray, threshold: float) -> str:
    """'fit PSNR 24.1 to 31.2 dB (mean 28.0); 2 frames below 25 dB: 103, 104'."""
    known = np.asarray(psnr, dtype=float)[np.isfinite(psnr)]
    text = ("fit PSNR unknown" if not len(known) else
            f"fit PSNR {known.min():.1f} to {known.max():.1f} dB (mean {known.mean():.1f})")
    low = low_frames(frames, psnr, threshold)
    if not low:
        return f"{text}; no frame below {threshold:g} dB"
    shown = ", ".join(str(f) for f in low[:8]) + (" ..." if len(low) > 8 else "")
    return f"{text}; {len(low)} frame{'s' if len(low) != 1 else ''} below {threshold:g} dB: {shown}"


def record_fit_quality(obj, scene, frames: np.ndarray, psnr: np.ndarray,
                       threshold: float) -> list[int]:
    """Keys obj's PSNR curve at frames [F] and marks the frames below threshold on the
    scene's timeline (markers of an earlier bake in this range are replaced). -> low frames."""
    frames = np.asarray(frames)
    psnr = np.asarray(psnr, dtype=np.float32)
    known = np.isfinite(psnr)
    if PSNR_PROPERTY not in obj:
        obj[PSNR_PROPERTY] = 0.0
    if known.any():
        fcurves = fcurves_of(obj, f"{obj.name} Fit")
        fc = ensure_fcurve(fcurves, f'["{PSNR_PROPERTY}"]', 0, "Fit Quality")
        write_keys(fc, frames[known], psnr[known])
    lo, hi = int(frames.min()), int(frames.max())
    for marker in list(scene.timeline_markers):
        if marker.name.startswith(MARKER_PREFIX) and lo <= marker.frame <= hi:
            scene.timeline_markers.remove(marker)
    low = low_frames(frames, psnr, threshold)
    for frame in low:
        value = psnr[list(frames).index(frame)]
        name = f"{MARKER_PREFIX} {value:.1f} dB" if np.isfinite(value) else f"{MARKER_PREFIX} ?"
        scene.timeline_markers.new(name, frame=frame)
    return low


__all__ = ["PSNR_PROPERTY", "MARKER_PREFIX", "low_frames", "quality_summary",
           "record_fit_quality"]
