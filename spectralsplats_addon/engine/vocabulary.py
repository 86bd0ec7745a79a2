"""The names the engine, the job format, the CLI and the Blender layer share, defined once.

Deformation models, losses, presets, compute devices, worker event kinds and worker exit
codes. Each name is what job.json, result.npz and the worker's event lines hold; the texts
beside them (label, description) are what the Track panel and ``--help`` show. Stdlib only
(torch-free, numpy-free): the Blender layer imports it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from .config import PRESETS as _PRESET_CONFIGS

MODELS: tuple[str, ...] = ("rigid", "direct", "mlp")
LOSSES: tuple[str, ...] = ("spectral", "pixel")
PRESETS: tuple[str, ...] = tuple(_PRESET_CONFIGS)  # engine/config.py owns their settings
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
RIGID = "rigid"  # the model that moves the whole object, not its control points
CONTROL_POINT_MODELS: tuple[str, ...] = tuple(m for m in MODELS if m != RIGID)

# (label, description) of each name, in the order the Track panel lists them.
MODEL_TEXT: dict[str, tuple[str, str]] = {
    "direct": ("Direct", "Per-frame control-point motion (the paper's direct morph field)"),
    "mlp": ("MLP", "A neural motion field over control points and time, fitted jointly"),
    "rigid": ("Rigid", "One rigid transform per frame, keyed on the object"),
}
LOSS_TEXT: dict[str, tuple[str, str]] = {
    "spectral": ("Spectral", "Spectral moments, low to high frequency, then pixels: finds the "
                             "target even without overlap"),
    "pixel": ("Pixel", "Pixel loss only (L1 + D-SSIM): needs a good start"),
}
PRESET_TEXT: dict[str, tuple[str, str]] = {
    "robust": ("Robust", "More iterations per frame"),
    "fast": ("Fast", "Fewer iterations"),
}
DEVICE_TEXT: dict[str, tuple[str, str]] = {
    "auto": ("Auto", "CUDA if present, else Apple MPS, else the CPU"),
    "cpu": ("CPU", ""),
    "cuda": ("CUDA", ""),
    "mps": ("MPS", ""),
}


class EventKind(StrEnum):
    """The ``"event"`` field of the worker's JSON lines (docs/job-format.md, "The worker")."""

    STARTED = "started"
    PLATE = "plate"   # how the plate is compared, and the warning when nothing is given
    FRAME_STARTED = "frame_started"
    PROGRESS = "progress"
    FRAME_FINISHED = "frame_finished"
    FINISHED = "finished"
    ERROR = "error"
    OUTPUT = "output"  # a line the worker printed that is not an event (the Blender side)


class ExitCode(IntEnum):
    """The worker's exit status (docs/job-format.md)."""

    COMPLETE = 0  # the result holds every frame
    INVALID = 2   # an invalid job or bad arguments: nothing tracked, the folder untouched
    FAILED = 3    # tracking failed: an error event; frames saved before stay
    STOPPED = 4   # SIGTERM, SIGINT or a cancel: a partial result (complete=false)


__all__ = ["MODELS", "RIGID", "CONTROL_POINT_MODELS", "LOSSES", "PRESETS", "DEVICES",
           "MODEL_TEXT", "LOSS_TEXT", "PRESET_TEXT", "DEVICE_TEXT", "EventKind", "ExitCode"]
