"""The paper's shift-radius experiment on a clip: pixel-only vs spectral supervision, for the
direct and mlp deformation models, on a known motion (lab/examples.py).

For each case the tracker (engine/track/sequence.track_sequence) starts from the rest asset moved in
the training camera's image plane: a direction theta (seeded, uniform; the same directions
for every model and loss) and a radius rho in image footprints F (pixels: the longer side of
the bounding box of frame 1's mask alpha > 1/255) give the start translation

    t0 = R_cam^T (rho F cos(theta) z / f_x,  rho F sin(theta) z / f_y,  0)

(shift_experiment.image_plane_shift; z the depth of the asset centre), passed to the tracker
as ``init=RigidPose(0, t0)``. Radius 0 has one case (every direction gives the same start).
The start overlap is |mask(start render) & mask(frame 1)| / |mask(frame 1)| in the training
view; 0 means no shared pixel.

Each tracked motion (rotations R [F, P, 4], translations t [F, P, 3]) is scored against the
truth (R*, t*) through one function, ``motion_metrics``:

- train / novel PSNR and SSIM: RGB renders of the tracked motion (lab/examples.render_clip)
  from motion.train_camera / motion.novel_camera against the true motion's renders, each the
  mean over frames;
- control-point error: a control point p_k goes to p_k + t_k (R_k turns about p_k itself), so

      e = mean over frames f and points k of |t_fk - t*_fk| / asset size

  (asset size: the bounding-box diagonal of the rest splat centres).

    >>> run = ShiftRun(frames=3, size=64, radii=(1.5,), directions=1, iterations=40)
    >>> records = run_shift_eval(load_motion(run), run)
    >>> [(r.model, r.loss, round(r.train_psnr, 1)) for r in records]
    [('direct', 'spectral', ...), ('direct', 'pixel', ...), ('mlp', 'spectral', ...), ...]
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from ..engine.config import TrackingConfig, preset
from ..engine.deform.pose import RigidPose, asset_centre, asset_size
from ..engine.errors import ConfigError
from ..engine.loss.metrics import psnr, ssim
from ..engine.render.api import render
from ..engine.track.sequence import track_sequence
from ..engine.track.step import LOSS_MODES
from ..engine.vocabulary import CONTROL_POINT_MODELS
from .shift_experiment import image_footprint, image_plane_shift, mask_overlap

SHIFT_MODELS: tuple[str, ...] = CONTROL_POINT_MODELS
ASSETS: tuple[str, ...] = ("articulated", "donut")
EvalCallback = Callable[[dict], None]


@dataclass(frozen=True)
class ShiftRun:
    """The settings of one sweep. The clip: ``asset`` ("articulated" | "donut"), ``frames``,
    ``size`` (px, square), ``fill`` (the moving asset's bounding sphere over half the image
    side: small enough that a start shifted by the largest radius stays in the image),
    ``control_points`` (None: the example's own), ``max_splats`` (None: every splat; else the
    proxy of that many splats, ``subset_motion``), ``seed`` (also the seed of the directions
    and of the tracker).
    The sweep: ``radii`` (image footprints), ``directions`` per radius above 0, ``models``,
    ``losses``. The tracker: TrackingConfig ``preset`` with ``iterations`` per frame (None:
    the preset's) and any further fields in ``overrides`` (name -> value), rendered with
    ``backend``."""

    asset: str = "articulated"
    frames: int = 24
    size: int = 64
    fill: float = 0.2
    control_points: int | None = None
    max_splats: int | None = None
    seed: int = 0
    radii: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5)
    directions: int = 2
    models: tuple[str, ...] = SHIFT_MODELS
    losses: tuple[str, ...] = LOSS_MODES
    preset: str = "fast"
    iterations: int | None = None
    backend: str = "auto"
    overrides: tuple[tuple[str, object], ...] = ()

    def __post_init__(self):
        if self.asset not in ASSETS:
            raise ConfigError(f"unknown asset {self.asset!r}; choose one of {', '.join(ASSETS)}")
        for name in ("frames", "size", "directions"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name in ("control_points", "max_splats"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer or None, got {value!r}")
        if not 0 < self.fill <= 1:
            raise ConfigError(f"fill must lie in (0, 1] (the asset's share of half the image "
                              f"side), got {self.fill}")
        if not self.radii or any(not math.isfinite(r) or r < 0 for r in self.radii):
            raise ConfigError(f"radii must be one or more finite numbers >= 0 (image "
                              f"footprints), got {list(self.radii)}")
        bad = [m for m in self.models if m not in SHIFT_MODELS]
        if not self.models or bad:
            raise ConfigError(f"unknown or no deformation model(s) {bad or '(none)'}; choose "
                              f"from {', '.join(SHIFT_MODELS)}")
        bad = [loss for loss in self.losses if loss not in LOSS_MODES]
        if not self.losses or bad:
            raise ConfigError(f"unknown or no loss(es) {bad or '(none)'}; choose from "
                              f"{', '.join(LOSS_MODES)}")
        if self.iterations is not None and (not isinstance(self.iterations, int)
                                            or self.iterations < 1):
            raise ConfigError(f"iterations must be a positive integer or None (the preset's), "
                              f"got {self.iterations!r}")
        self.config()  # an unknown preset fails here, before any work

    def config(self) -> TrackingConfig:
        """The tracking settings: the preset, with ``iterations`` where given."""
        changes = dict(self.overrides)
        if self.iterations is not None:
            changes["iterations"] = self.iterations
        return preset(self.preset).replace(**changes) if changes else preset(self.preset)

    def to_dict(self) -> dict:
        return {**asdict(self), "radii": list(self.radii), "models": list(self.models),
                "losses": list(self.losses), "overrides": dict(self.overrides)}


@dataclass
class ShiftCase:
    """One start: radius (footprints), direction (degrees in the image, x right, y down), the
    start translation [3] (object-local scene units) and its overlap with frame 1's target."""

    index: int
    radius: float
    direction_deg: float
    translation: np.ndarray
    overlap: float

    @property
    def pose(self) -> RigidPose:
        return RigidPose(np.zeros(3), self.translation)


@dataclass
class ShiftRecord:
    """One tracked case: which (asset, case, radius, direction, model, loss), the start
    overlap, train / novel PSNR (dB) and SSIM (means over frames), the control-point error
    (fraction of the asset size) and the tracking time (s)."""

    asset: str
    case: int
    radius: float
    direction_deg: float
    model: str
    loss: str
    overlap: float
    train_psnr: float
    train_ssim: float
    novel_psnr: float
    novel_ssim: float
    cp_error: float
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def subset_motion(motion, count: int):
    """A proxy of ``motion`` with its ``count`` splats that cover the most image (the rule of
    proxy.coverage_subset: largest opacity * exp(l1 + l2), l1, l2 the two largest
    log-scales); the rig's control points and the true motion are kept, each kept splat keeps
    its skinning indices and weights."""
    splats = motion.splats
    if count >= len(splats):
        return motion
    log_scales = np.sort(np.asarray(splats.log_scales, dtype=np.float64), axis=1)
    opacity = 1.0 / (1.0 + np.exp(-np.asarray(splats.opacity_logits, dtype=np.float64)))
    keep = np.sort(np.argsort(-(opacity * np.exp(log_scales[:, 1:].sum(1))),
                              kind="stable")[:count])
    rig = dataclasses.replace(motion.rig, indices=motion.rig.indices[keep],
                              weights=motion.rig.weights[keep])
    return dataclasses.replace(motion, splats=splats.subset(keep), rig=rig)


def load_motion(run: ShiftRun):
    """The known-motion clip of ``run`` (lab/examples.known_motion), reduced to
    ``run.max_splats`` splats where set."""
    from .examples import known_motion

    motion = known_motion(run.asset, num_frames=run.frames, size=run.size,
                          num_control_points=run.control_points, seed=run.seed, fill=run.fill)
    return motion if run.max_splats is None else subset_motion(motion, run.max_splats)


class Truth:
    """The true motion's renders, computed once: train / novel (rgb [H, W, 3], alpha [H, W])
    per frame."""

    def __init__(self, motion, backend: str = "auto"):
        from .examples import render_clip

        self.motion = motion
        self.train = render_clip(motion, motion.train_camera, backend=backend)
        self.novel = render_clip(motion, motion.novel_camera, backend=backend)
        self.size = asset_size(motion.splats)


def _mean_quality(renders, truths) -> tuple[float, float]:
    """(mean PSNR, mean SSIM) of RGB renders against RGB truths, over frames."""
    p, s = [], []
    for (rgb, _), (ref, _) in zip(renders, truths):
        x, y = rgb.permute(2, 0, 1), ref.permute(2, 0, 1)
        p.append(psnr(x, y))
        s.append(ssim(x[None], y[None]))
    return float(np.mean(p)), float(np.mean(s))


def control_point_error(translations: np.ndarray,       # [F, P, 3] tracked t
                        true_translations: np.ndarray,  # [F, P, 3] true t*
                        size: float) -> float:
    """mean_{f,k} |t_fk - t*_fk| / size: control point p_k goes to p_k + t_k."""
    t = np.asarray(translations, dtype=np.float64)
    ref = np.asarray(true_translations, dtype=np.float64)
    if t.shape != ref.shape:
        raise ConfigError(f"tracked translations {t.shape} and true ones {ref.shape} differ: "
                          "track every frame of the clip with the clip's rig")
    return float(np.linalg.norm(t - ref, axis=-1).mean() / size)


def motion_metrics(truth: Truth,
                   rotations: np.ndarray,     # [F, P, 4] w x y z
                   translations: np.ndarray,  # [F, P, 3]
                   backend: str = "auto") -> dict:
    """train_psnr, train_ssim, novel_psnr, novel_ssim, cp_error of a motion of truth's clip
    (module docstring). The true motion itself scores inf dB, SSIM 1 and error 0."""
    from .examples import render_clip

    motion = truth.motion
    tracked = dataclasses.replace(motion, rotations=np.asarray(rotations, dtype=np.float32),
                                  translations=np.asarray(translations, dtype=np.float32))
    train_psnr, train_ssim = _mean_quality(
        render_clip(tracked, motion.train_camera, backend=backend), truth.train)
    novel_psnr, novel_ssim = _mean_quality(
        render_clip(tracked, motion.novel_camera, backend=backend), truth.novel)
    return {"train_psnr": train_psnr, "train_ssim": train_ssim, "novel_psnr": novel_psnr,
            "novel_ssim": novel_ssim,
            "cp_error": control_point_error(translations, motion.translations, truth.size)}


def make_cases(truth: Truth, run: ShiftRun, backend: str = "auto") -> list[ShiftCase]:
    """One case at radius 0, ``run.directions`` at every other radius; directions drawn from
    numpy's generator seeded with ``run.seed``. Overlap measured by rendering the start."""
    motion = truth.motion
    rest = motion.splats.to_torch(dtype=torch.float32)
    centre = asset_centre(rest)
    target_alpha = truth.train[0][1]
    footprint = image_footprint(target_alpha)
    rng = np.random.default_rng(run.seed)
    cases = []
    for radius in run.radii:
        for _ in range(1 if radius == 0 else run.directions):
            theta = float(rng.uniform(0.0, 2 * math.pi))
            shift_px = radius * footprint * np.array([math.cos(theta), math.sin(theta)])
            t0 = image_plane_shift(motion.train_camera, centre.double().numpy(), shift_px)
            with torch.no_grad():
                start = RigidPose(np.zeros(3), t0).apply(rest, centre)
                alpha = render(start, motion.train_camera, background=motion.background,
                               backend=backend).alpha
            cases.append(ShiftCase(len(cases), float(radius), math.degrees(theta), t0,
                                   mask_overlap(alpha, target_alpha)))
    return cases


def run_shift_eval(motion, run: ShiftRun | None = None, callback: EvalCallback | None = None,
                   ) -> list:
    """Tracks ``motion`` (a KnownMotion) from every case of ``run`` with every model and loss;
    one ShiftRecord each, in the order case, model, loss.

    callback(event), when given, receives {"event": "progress", "case", "cases", "run",
    "runs", "model", "loss", **the tracker's progress event} after every tracking step and
    {"event": "record", "run", "runs", "record": ShiftRecord.to_dict()} after every run.
    """
    run = run or ShiftRun()
    config = run.config()
    truth = Truth(motion, run.backend)
    cases = make_cases(truth, run, run.backend)
    targets = truth.train
    total = len(cases) * len(run.models) * len(run.losses)
    records = []
    for case in cases:
        for model in run.models:
            for loss in run.losses:
                where = {"case": case.index, "cases": len(cases), "run": len(records),
                         "runs": total, "model": model, "loss": loss}

                def relay(event, where=where):
                    callback({"event": "progress", **where, **event})

                start = time.perf_counter()
                result = track_sequence(motion.splats, motion.rig, motion.train_camera, targets,
                                        motion.frames, model, config, loss=loss,
                                        init=case.pose, seed=run.seed,
                                        background=motion.background, backend=run.backend,
                                        callback=None if callback is None else relay)
                seconds = time.perf_counter() - start
                scores = motion_metrics(truth, result.rotations, result.translations,
                                        run.backend)
                record = ShiftRecord(motion.name, case.index, case.radius, case.direction_deg,
                                     model, loss, case.overlap, seconds=seconds, **scores)
                records.append(record)
                if callback is not None:
                    callback({"event": "record", "run": len(records) - 1, "runs": total,
                              "record": record.to_dict()})
    return records


SUMMARY_FIELDS = ("train_psnr", "train_ssim", "novel_psnr", "novel_ssim", "cp_error", "seconds")


def summarise(records, zero_overlap_only: bool = False) -> list[dict]:
    """One row per (asset, radius, model, loss), in the records' order: cases, zero-overlap
    cases, and the mean of each SUMMARY_FIELDS value over the cases. With
    ``zero_overlap_only``, one row per (asset, model, loss) over the cases whose start shares
    no pixel with the target (radius None)."""
    groups: dict = {}
    for r in (dict(r) if isinstance(r, dict) else r.to_dict() for r in records):
        if zero_overlap_only and r["overlap"] != 0:
            continue
        key = (r["asset"], None if zero_overlap_only else r["radius"], r["model"], r["loss"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (asset, radius, model, loss), members in groups.items():
        row = {"asset": asset, "radius": radius, "model": model, "loss": loss,
               "cases": len(members), "zero_overlap": sum(m["overlap"] == 0 for m in members)}
        row.update({name: float(np.mean([m[name] for m in members])) for name in SUMMARY_FIELDS})
        rows.append(row)
    return rows


def spectral_gain(rows: list[dict], field: str = "train_psnr") -> dict:
    """(asset, radius, model) -> spectral minus pixel value of ``field`` in summary rows
    that hold both losses."""
    by = {(r["asset"], r["radius"], r["model"], r["loss"]): r[field] for r in rows}
    return {(a, rad, m): by[a, rad, m, "spectral"] - value
            for (a, rad, m, loss), value in by.items()
            if loss == "pixel" and (a, rad, m, "spectral") in by}


__all__ = ["SHIFT_MODELS", "ASSETS", "ShiftRun", "ShiftCase", "ShiftRecord", "subset_motion",
           "load_motion", "Truth",
           "control_point_error", "motion_metrics", "make_cases", "run_shift_eval",
           "SUMMARY_FIELDS", "summarise", "spectral_gain"]
