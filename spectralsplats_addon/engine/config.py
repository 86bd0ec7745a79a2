"""Tracking settings: one dataclass holds every fraction, band count, weight and rate.

Torch-free (the Blender layer writes it into job.json). Iterations are counted per frame:

    step 0 ............ warm-up ............ spectral expansion ............ spatial refinement
         |<- warmup_fraction * iterations ->|
         |<------------- spectral_fraction * iterations ------------->|
                                                                       |<- the rest ->|

During warm-up the annealing parameter alpha is held at ``alpha_start``; during the
expansion it rises to ``num_bands`` (engine/loss/schedule.py, docs/spectral.md); the spatial phase
refines with L1 or L2 plus D-SSIM.

Example::

    >>> cfg = preset("fast")
    >>> TrackingConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

from .errors import ConfigError

MAX_COUNT = 1_000_000      # iterations, bands, sides, steps: any count setting
MAX_NUM_BANDS = 16         # band j holds radii [2^j, 2^(j+1)); images are at most 8192 px
MAX_LEARNING_RATE = 10.0   # any learning rate (the presets use 0.0005 to 0.06)

Expansion = Literal["linear_band", "linear_frequency"]
SpatialLoss = Literal["l1", "l2"]

EXPANSIONS: tuple[str, ...] = ("linear_band", "linear_frequency")
SPATIAL_LOSSES: tuple[str, ...] = ("l1", "l2")


def _doc(text: str, default):
    """A field whose documentation ends with its default, so the two cannot drift apart."""
    return field(default=default, metadata={"doc": f"{text} (default {default!r})"})


@dataclass(frozen=True)
class TrackingConfig:
    """Every setting of the per-frame optimisation. Defaults are the "robust" preset.

    Each field's meaning is in its ``metadata["doc"]`` (see ``describe()``) and in
    docs/spectral.md.
    """

    # -- iterations and phases ------------------------------------------------------------
    iterations: int = _doc("optimisation steps per frame", 500)
    spectral_fraction: float = _doc(
        "fraction of the steps in the spectral phase (warm-up + expansion); the rest is the "
        "spatial phase. 1.0: no spatial phase", 0.7)
    warmup_fraction: float = _doc(
        "fraction of the steps, from step 0, with alpha held at alpha_start; at most "
        "spectral_fraction", 0.15)

    # -- spectral moments and annealing ---------------------------------------------------
    alpha_start: float = _doc(
        "annealing parameter during warm-up; band j (radii [2^j, 2^(j+1)) cycles per image) "
        "has full weight once alpha >= j + 1, so 1.0 means the lowest band alone", 1.0)
    num_bands: int = _doc(
        "log-radial bands supervised; band j = 0 .. num_bands-1 holds radii [2^j, 2^(j+1)). "
        "7 reaches 128 cycles per image, the Nyquist radius of a 256-pixel side; bands past "
        "a smaller image's spectrum are empty and add nothing", 7)
    expansion: Expansion = _doc(
        "how alpha rises after warm-up: 'linear_band' (alpha linear in time, the cut-off "
        "2^alpha grows exponentially: the paper's derivation) or 'linear_frequency' (the "
        "cut-off frequency rises linearly: the paper's practice)", "linear_frequency")
    dc_weight: float = _doc(
        "weight of the DC moment (mean colour, total mass), kept apart from the bands; 0 "
        "leaves it out: it carries no position", 0.0)
    supervise_alpha: bool = _doc(
        "when the target has an alpha channel, append it to RGB as a fourth channel of the "
        "spectral (and spatial) loss", True)
    multiresolution: bool = _doc(
        "render the spectral phase at the lowest resolution that holds the weighted bands "
        "(a side of 2^(ceil(alpha)+1) pixels, the full size divided by a power of two; the "
        "target is area-averaged to match); the spatial phase runs at the full size", True)
    multiresolution_min_side: int = _doc(
        "the shorter image side never drops below this many pixels with multiresolution "
        "(at least 32). 64 by default: at 32 px a real asset's splats are about one pixel "
        "wide and point-sampled, the level's mass drifts with position, and the donut's "
        "zero-overlap recovery fell from 100 % to 70-80 % (docs/results.md)", 64)
    spectral_depth_hold: bool = _doc(
        "keep the depth (the translation along the camera's view axis) fixed during the "
        "spectral phase and let the spatial phase fit it: while render and target are apart, "
        "shrinking the render (moving it away) lowers the moment mismatch, so a free depth "
        "runs off before the image-plane shift closes", False)

    # -- first-frame alignment ------------------------------------------------------------
    align_first_frame: bool = _doc(
        "before a deforming model (direct, mlp) tracks, fit one rigid pose to the first frame "
        "from the starting pose (the rigid tracker with the ALIGNMENT settings) and start the "
        "model there: per-control-point steps alone do not close a gap where render and "
        "target share no pixel (docs/tracking.md)", True)
    align_iterations: int = _doc("steps of that rigid alignment", 150)

    # -- spatial refinement ---------------------------------------------------------------
    spatial_loss: SpatialLoss = _doc("pixel loss of the spatial phase: 'l1' or 'l2'",
                                     "l1")
    dssim_weight: float = _doc(
        "lambda of (1 - lambda) * pixel + lambda * (1 - SSIM), as in 3DGS", 0.2)
    spectral_weight_in_spatial_phase: float = _doc(
        "factor on the spectral loss (all bands at full weight) kept during the spatial "
        "phase; 0 hands over entirely", 0.0)

    # -- learning rates (Adam) --------------------------------------------------------------
    lr_translation: float = _doc(
        "rigid translation, in asset sizes (bounding-box diagonal of the splat centres) per "
        "step, so that one setting fits assets of any scale", 1e-2)
    lr_rotation: float = _doc("rigid rotation, radians (axis-angle) per step", 5e-3)
    lr_control_points: float = _doc(
        "per-control-point offsets and rotations of the direct model", 1e-3)
    lr_mlp: float = _doc("network weights of the mlp deformation model", 5e-4)
    lr_final_fraction: float = _doc(
        "learning rate at a frame's last step as a fraction of the initial one, decayed "
        "exponentially in between; 1.0 keeps it constant", 0.1)

    # -- regularisers: weights for the direct and mlp deformation models (the rigid model
    #    has none); their defaults are starting points, not tuned values ---------------------
    arap_weight: float = _doc(
        "as-rigid-as-possible weight between neighbouring control points", 1e-2)
    temporal_weight: float = _doc(
        "temporal smoothness weight on control-point motion between frames",
        1e-3)

    # -- appearance: the render's colours meet a plate's through a per-channel gain and
    #    offset optimised with the motion (engine/track/appearance.py) ------------------------
    lr_appearance: float = _doc(
        "the colour transform's log-gain and offset (per channel)", 1e-2)
    appearance_temporal_weight: float = _doc(
        "weight of the squared change of a per-frame colour transform (log-gain and "
        "offset) from the previous frame's; the image losses are of order 1e-3 to 1e-1",
        1e-2)

    # -- joint optimisation of the mlp model over all frames (iterations x frames steps) --
    mlp_unlock_fraction: float = _doc(
        "fraction of the mlp run over which frames are unlocked one after another (frame 0 "
        "alone at first, every frame by then); 0 unlocks every frame from the start", 0.5)
    mlp_frames_per_step: int = _doc(
        "frames rendered per mlp step, drawn (seeded) from the unlocked ones; with 1, a "
        "frame's share of the late steps is left to chance (a 2-frame test clip: 35 dB on "
        "one frame with 1, 52 dB with 2)", 2)
    mlp_checkpoint_every: int = _doc(
        "steps between two saves of the mlp run's checkpoint, when one is asked for", 100)

    def __post_init__(self):
        for name in ("iterations", "num_bands", "multiresolution_min_side", "align_iterations",
                     "mlp_frames_per_step", "mlp_checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
            if value > MAX_COUNT:
                raise ConfigError(f"{name} must be at most {MAX_COUNT}, got {value}")
        if self.num_bands > MAX_NUM_BANDS:
            raise ConfigError(f"num_bands must be at most {MAX_NUM_BANDS} (band {MAX_NUM_BANDS}"
                              f" starts at radius 2^{MAX_NUM_BANDS}, beyond any image), got "
                              f"{self.num_bands}")
        if self.multiresolution_min_side < 32:
            raise ConfigError("multiresolution_min_side must be at least 32 pixels (lower "
                              "levels hold too few pixels per splat), got "
                              f"{self.multiresolution_min_side}")
        for name in ("spectral_fraction", "warmup_fraction", "lr_final_fraction",
                     "mlp_unlock_fraction"):
            _check_unit_interval(name, getattr(self, name))
        if self.warmup_fraction > self.spectral_fraction:
            raise ConfigError(
                f"warmup_fraction ({self.warmup_fraction}) exceeds spectral_fraction "
                f"({self.spectral_fraction}): the warm-up is part of the spectral phase; "
                "lower warmup_fraction or raise spectral_fraction")
        if self.lr_final_fraction == 0:
            raise ConfigError("lr_final_fraction must be above 0 (the decay is exponential); "
                              "use a small value such as 0.01")
        _check_finite("alpha_start", self.alpha_start)
        if not 0 <= self.alpha_start <= self.num_bands:
            raise ConfigError(f"alpha_start must lie in [0, num_bands = {self.num_bands}], "
                              f"got {self.alpha_start}")
        if self.expansion not in EXPANSIONS:
            raise ConfigError(f"unknown expansion {self.expansion!r}; choose one of "
                              f"{', '.join(EXPANSIONS)}")
        if self.spatial_loss not in SPATIAL_LOSSES:
            raise ConfigError(f"unknown spatial_loss {self.spatial_loss!r}; choose one of "
                              f"{', '.join(SPATIAL_LOSSES)}")
        for name in ("supervise_alpha", "multiresolution", "spectral_depth_hold",
                     "align_first_frame"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not 0 <= self.dssim_weight <= 1:
            raise ConfigError(f"dssim_weight must lie in [0, 1], got {self.dssim_weight}")
        for name in ("dc_weight", "spectral_weight_in_spatial_phase", "arap_weight",
                     "temporal_weight", "appearance_temporal_weight"):
            _check_finite(name, getattr(self, name))
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("lr_translation", "lr_rotation", "lr_control_points", "lr_mlp",
                     "lr_appearance"):
            _check_finite(name, getattr(self, name))
            if not 0 < getattr(self, name) <= MAX_LEARNING_RATE:
                raise ConfigError(f"learning rate {name} must be above 0 and at most "
                                  f"{MAX_LEARNING_RATE:g}, got {getattr(self, name)}")

    # -- derived step counts ----------------------------------------------------------------
    @property
    def warmup_steps(self) -> int:
        """Steps [0, warmup_steps) hold alpha at alpha_start."""
        return round(self.warmup_fraction * self.iterations)

    @property
    def spectral_steps(self) -> int:
        """Steps [0, spectral_steps) are the spectral phase; the rest are spatial."""
        return round(self.spectral_fraction * self.iterations)

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrackingConfig":
        """Inverse of to_dict. Missing fields take their defaults; unknown ones are an error."""
        if not isinstance(data, dict):
            raise ConfigError(f"tracking settings must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown tracking setting(s) {', '.join(unknown)}; known settings: "
                              f"{', '.join(sorted(known))}")
        return cls(**data)

    def replace(self, **changes) -> "TrackingConfig":
        """A copy with some fields changed (validated again)."""
        return self.from_dict({**self.to_dict(), **changes})

    @classmethod
    def describe(cls) -> dict[str, str]:
        """Field name -> its documentation, including the default."""
        return {f.name: f.metadata["doc"] for f in fields(cls)}


def _check_finite(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def _check_unit_interval(name: str, value) -> None:
    _check_finite(name, value)
    if not 0 <= value <= 1:
        raise ConfigError(f"{name} must lie in [0, 1], got {value}")


PRESETS: dict[str, TrackingConfig] = {
    # The defaults: the paper's conservative expansion, a long spectral phase.
    "robust": TrackingConfig(),
    # Fewer steps, the band-linear expansion, a shorter warm-up. 120 steps with the direct
    # model's rate at 3e-3 track the donut's 24-frame example as well as 150 steps at 2e-3
    # did (mean PSNR 31.8 dB both; docs/benchmarks.md, "Tracking speed (CPU)").
    "fast": TrackingConfig(iterations=120, spectral_fraction=0.6, warmup_fraction=0.05,
                           expansion="linear_band", lr_translation=2e-2, lr_rotation=1e-2,
                           lr_control_points=3e-3),
}


# Rigid alignment from a start far from the target: the settings of the zero-overlap experiment
# (docs/results.md: 100 % of the zero-overlap starts recovered for both assets): half the steps
# spectral on 5 bands with the depth held, then L1 + D-SSIM. The pixel loss has no spectral
# phase to hold the depth in, and a smaller translation step suits it (0.06 overshoots).
ALIGNMENT = TrackingConfig(iterations=150, num_bands=5, spectral_fraction=0.5,
                           warmup_fraction=0.1, lr_translation=0.06, lr_rotation=0.003,
                           lr_final_fraction=0.3, spectral_depth_hold=True)
PIXEL_ALIGNMENT = ALIGNMENT.replace(lr_translation=0.02)


def preset(name: str = "robust") -> TrackingConfig:
    """The named preset: "robust" (default) or "fast"."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown preset {name!r}; known presets: "
                          f"{', '.join(sorted(PRESETS))}") from None


__all__ = ["TrackingConfig", "PRESETS", "preset", "ALIGNMENT", "PIXEL_ALIGNMENT", "EXPANSIONS",
           "SPATIAL_LOSSES"]
