"""result.npz: the tracked motion of one job, the contract between the engine and Blender.

numpy only (the Blender layer reads it). Arrays, F tracked frames, P control points:

    version          int, RESULT_VERSION
    frames           [F] int     scene frame numbers, increasing
    rotations        [F, P, 4]   control-point rotations, w x y z (unit quaternions)
    translations     [F, P, 3]   control-point translations, object-local units
    object_matrices  [F, 4, 4]   the object's rigid transform per frame (identity unless the
                                 model is rigid), object-local -> object-local
    losses           [F]         final loss per frame
    psnr             [F]         final PSNR (dB) per frame against the target (NaN if unknown)
    model            str         "rigid", "direct" or "mlp"
    complete         bool        False for a partial result (cancelled or interrupted run)

A control point k moves a splat bound to it by x -> R_k (x - p_k) + p_k + t_k
(engine/deform/skinning.py); the object's transform applies after the skinning.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_file
from .errors import ResultError
from .npz_limits import npz_size_problem
from .vocabulary import MODELS

RESULT_VERSION = 1


@dataclass
class TrackResult:
    frames: np.ndarray           # [F] int
    rotations: np.ndarray        # [F, P, 4]
    translations: np.ndarray     # [F, P, 3]
    model: str = "direct"
    object_matrices: np.ndarray | None = None  # [F, 4, 4]; None = identity
    losses: np.ndarray | None = None           # [F]
    psnr: np.ndarray | None = None             # [F]
    complete: bool = True
    extra: dict = field(default_factory=dict)  # further named arrays, kept as they are

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, dtype=np.int64)
        self.rotations = np.asarray(self.rotations, dtype=np.float32)
        self.translations = np.asarray(self.translations, dtype=np.float32)
        f = self.frames.shape[0]
        if self.frames.ndim != 1 or (f > 1 and not (np.diff(self.frames) > 0).all()):
            raise ResultError(f"frames must be increasing scene frame numbers [F], got "
                              f"{self.frames}")
        if self.rotations.ndim != 3 or self.rotations.shape[0] != f or self.rotations.shape[2] != 4:
            raise ResultError(f"rotations must be [F={f}, P, 4], got {self.rotations.shape}")
        p = self.rotations.shape[1]
        if self.translations.shape != (f, p, 3):
            raise ResultError(f"translations must be [F={f}, P={p}, 3], got "
                              f"{self.translations.shape}")
        if self.model not in MODELS:
            raise ResultError(f"model {self.model!r} is not one of {', '.join(MODELS)}")
        if self.object_matrices is None:
            self.object_matrices = np.broadcast_to(np.eye(4, dtype=np.float32), (f, 4, 4)).copy()
        self.object_matrices = np.asarray(self.object_matrices, dtype=np.float32)
        if self.object_matrices.shape != (f, 4, 4):
            raise ResultError(f"object_matrices must be [F={f}, 4, 4], got "
                              f"{self.object_matrices.shape}")
        nan = np.full(f, np.nan, dtype=np.float32)
        self.losses = (nan.copy() if self.losses is None
                       else np.asarray(self.losses, dtype=np.float32))
        self.psnr = nan.copy() if self.psnr is None else np.asarray(self.psnr, dtype=np.float32)
        for name in ("rotations", "translations", "object_matrices"):
            if not np.isfinite(getattr(self, name)).all():
                raise ResultError(f"{name} holds NaN or Inf: the tracking diverged; track again "
                                  "with a lower learning rate or the robust preset")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def num_control_points(self) -> int:
        return int(self.rotations.shape[1])

    def save(self, path) -> None:
        """Writes atomically (a .part file renamed), so a reader never sees half a result; a
        link at the path or its .part is replaced, never followed (engine/atomic.py)."""
        with atomic_file(path) as handle:
            np.savez(handle, version=np.int64(RESULT_VERSION), frames=self.frames,
                     rotations=self.rotations, translations=self.translations,
                     object_matrices=self.object_matrices, losses=self.losses, psnr=self.psnr,
                     model=np.str_(self.model), complete=np.bool_(self.complete),
                     **{f"extra_{k}": v for k, v in self.extra.items()})

    @classmethod
    def load(cls, path) -> "TrackResult":
        path = Path(path)
        if not path.is_file():
            raise ResultError(f"{path}: no result file there; run the tracker first (it writes "
                              "result.npz into the job folder)")
        try:
            problem = npz_size_problem(path)
            if problem is not None:
                raise ResultError(f"{path}: {problem}; it is not a result this build wrote: "
                                  "track again")
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, MemoryError) as error:
            raise ResultError(f"{path}: not a readable result file ({type(error).__name__}: "
                              f"{error}); track again") from None
        missing = {"version", "frames", "rotations", "translations"} - set(arrays)
        if missing:
            raise ResultError(f"{path}: missing {', '.join(sorted(missing))}; is it a result.npz?")
        version = arrays["version"]
        if version.size != 1 or not np.issubdtype(version.dtype, np.integer):
            raise ResultError(f"{path}: version must be one integer, got {version.dtype} "
                              f"{version.shape}; is it a result.npz?")
        if int(arrays["version"]) != RESULT_VERSION:
            raise ResultError(f"{path}: result version {int(arrays['version'])}, this version "
                              f"reads {RESULT_VERSION}; track again with this version")
        try:
            return cls(frames=arrays["frames"], rotations=arrays["rotations"],
                       translations=arrays["translations"],
                       model=str(arrays.get("model", "direct")),
                       object_matrices=arrays.get("object_matrices"), losses=arrays.get("losses"),
                       psnr=arrays.get("psnr"), complete=bool(arrays.get("complete", True)),
                       extra={k[6:]: v for k, v in arrays.items() if k.startswith("extra_")})
        except ResultError as error:
            raise ResultError(f"{path}: {error}") from error
        except (TypeError, ValueError) as error:  # arrays of the wrong kind (text, objects)
            raise ResultError(f"{path}: an array of the wrong kind ({error}); track "
                              "again") from None

