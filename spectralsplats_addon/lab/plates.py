"""The plates experiment: known-motion clips composited into a photograph, tracked as plates.

A known-motion clip (lab/examples.py) is rendered over black with its exact alpha and put into
a photograph shipped with matplotlib (mpl-data/sample_data/grace_hopper.jpg):

    plate_f = g * c_f + o * a_f + (1 - a_f) * P_f         (c_f premultiplied colour, a_f alpha)

- camera "locked": P_f is one crop of the photograph; "panning": the crop slides by
  ``pan_px`` pixels per frame;
- lighting "same": g = 1, o = 0; "changed": exposure x1.3 and a warmer white balance on the
  object (g = 1.3 (1.08, 1.0, 0.85), o = 0.02), Gaussian noise (sigma 0.02) on the plate, and
  the plate through H.264 (PyAV, crf 18) and back.

What the tracker is told ("knowledge"), as a job would tell it (engine/worker):

- "matte": the exact alpha as a separate matte; the plate composited over black, alpha
  supervised;
- "clean_plate": P_f for every frame; the render goes over it;
- "estimate": the per-pixel temporal median of ``estimate_frames`` frames of the plate
  (engine/video/background.py); its reliability is recorded, and ``auto`` says what a job
  told nothing would compare with (as the worker decides: the estimate where it is reliable
  and shows the object, else the raw plate); the targets for "nothing" use that;
- "raw": nothing at all, the plate as it is (what the tracker did before plates existed);
- "plate_itself": nothing, the render composited over the plate itself (B = I, so the
  difference is alpha * (rgb - I): only what lies under the render counts).

Every case tracks the first ``frames`` frames with the direct model from the rest pose
("aligned") and from ``directions`` image-plane shifts of 1.2 footprints ("no_overlap"), with
the spectral and the pixel loss, the colour transform "clip" on. Scores: control-point error
(% of the asset size) and the PSNR of the tracked motion's render over black against the
truth's (the clip as rendered, no photograph).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..engine.config import TrackingConfig, preset
from ..engine.deform.pose import RigidPose, asset_centre, asset_size
from ..engine.errors import ConfigError
from ..engine.loss.metrics import psnr
from ..engine.render.api import render
from ..engine.track.sequence import track_sequence
from ..engine.video import composite_alpha, open_frames, resize_area
from ..engine.video.background import estimate_background, swallowed, visible_share
from ..engine.video.writer import write_movie
from ..engine.vocabulary import LOSSES
from .examples import known_motion, render_clip
from .shift_eval import control_point_error, subset_motion
from .shift_experiment import image_footprint, image_plane_shift, mask_overlap

KNOWLEDGE = ("matte", "clean_plate", "estimate", "raw", "plate_itself")
CAMERAS = ("locked", "panning")
LIGHTING = ("same", "changed")
STARTS = ("aligned", "no_overlap")
CHANGE_GAIN = 1.3 * np.array([1.08, 1.0, 0.85], dtype=np.float32)
CHANGE_OFFSET = 0.02
NOISE_SIGMA = 0.02
NO_OVERLAP_RADIUS = 1.2      # footprints
RECOVERED = 0.03             # control-point error under 3 % of the size: recovered


PHOTOGRAPH = "grace_hopper.jpg"  # the tuned-on photograph; others (--photo) are held out


def photograph(name: str = PHOTOGRAPH) -> np.ndarray:
    """A photograph from matplotlib's sample data: [H, W, 3] float32 in [0, 1]."""
    import matplotlib
    from PIL import Image

    path = Path(matplotlib.get_data_path()) / "sample_data" / name
    if not path.is_file():
        raise ConfigError(f"{path}: matplotlib's sample photograph is missing; reinstall "
                          "matplotlib")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


@dataclass(frozen=True)
class PlateRun:
    """The experiment's settings (module docstring); ``quick`` is the test's size."""

    assets: tuple = ("donut", "articulated")
    conditions: tuple = (("locked", "same"), ("locked", "changed"), ("panning", "changed"))
    knowledge: tuple = KNOWLEDGE
    starts: tuple = STARTS
    losses: tuple = LOSSES
    size: int = 96
    fill: float = 0.3
    frames: int = 3
    estimate_frames: int = 24
    directions: int = 2
    iterations: int = 40
    align_iterations: int = 80
    control_points: int = 48
    max_splats: int = 2000
    photo: str = PHOTOGRAPH
    pan_px: float = 3.0
    seed: int = 0
    backend: str = "auto"

    def config(self) -> TrackingConfig:
        return preset("fast").replace(iterations=self.iterations,
                                      align_iterations=self.align_iterations)

    @classmethod
    def quick(cls) -> "PlateRun":
        return cls(assets=("donut",), conditions=(("locked", "changed"),),
                   knowledge=("clean_plate",), starts=("no_overlap",), size=64, fill=0.25,
                   frames=2, estimate_frames=4, directions=1, iterations=20,
                   align_iterations=60, control_points=16, max_splats=1000)


@dataclass
class Clip:
    """One plate clip: targets and what each knowledge gives the tracker."""

    motion: object               # KnownMotion over the tracked frames
    truth: list                  # [(rgb [H, W, 3], alpha [H, W])] over black, tracked frames
    plates: list                 # [H, W, 3] numpy per tracked frame
    backgrounds: list            # the clean plates P_f
    estimate: object             # BackgroundEstimate
    auto: str                    # what a job told nothing compares with: estimate or raw


def _backgrounds(photo: np.ndarray, size: int, count: int, pan_px: float) -> list:
    """count crops size x size of the photograph scaled so its shorter side is 1.5 size."""
    h, w = photo.shape[:2]
    scale = 1.5 * size / min(h, w)
    big = resize_area(photo, round(w * scale), round(h * scale))
    y0 = (big.shape[0] - size) // 2
    crops = []
    for f in range(count):
        x0 = int(round(4 + f * pan_px)) % max(1, big.shape[1] - size)
        crops.append(np.ascontiguousarray(big[y0:y0 + size, x0:x0 + size]))
    return crops


def _through_h264(frames: list) -> list:
    with tempfile.TemporaryDirectory() as folder:
        path = write_movie(Path(folder) / "plate.mp4", frames)
        with open_frames(str(path)) as source:
            return [source.read(i).rgb[:frames[0].shape[0], :frames[0].shape[1]]
                    for i in range(len(frames))]


def make_clip(asset: str, camera: str, lighting: str, run: PlateRun, photo: np.ndarray) -> Clip:
    total = max(run.frames, run.estimate_frames)
    motion = known_motion(asset, num_frames=total, size=run.size,
                          num_control_points=run.control_points, seed=run.seed, fill=run.fill)
    motion = subset_motion(motion, run.max_splats)
    rendered = render_clip(motion, motion.train_camera, backend=run.backend)
    backgrounds = _backgrounds(photo, run.size, total,
                               run.pan_px if camera == "panning" else 0.0)
    rng = np.random.default_rng(run.seed)
    plates = []
    for (rgb, alpha), under in zip(rendered, backgrounds):
        c, a = rgb.numpy(), alpha.numpy()[..., None]
        if lighting == "changed":
            c = CHANGE_GAIN * c + CHANGE_OFFSET * a
        plate = c + (1.0 - a) * under
        if lighting == "changed":
            plate = plate + rng.normal(0.0, NOISE_SIGMA, plate.shape).astype(np.float32)
        plates.append(np.clip(plate, 0.0, 1.0).astype(np.float32))
    if lighting == "changed":
        plates = _through_h264(plates)
    estimate = estimate_background(np.stack(plates))
    footprint = float(np.mean([(a.numpy() > 0.5).mean() for _, a in rendered]))
    hidden = swallowed(visible_share(np.stack(plates), estimate.image), footprint)
    auto = "estimate" if estimate.reliable and not hidden else "raw"
    tracked = dataclasses.replace(motion, frames=motion.frames[:run.frames],
                                  rotations=motion.rotations[:run.frames],
                                  translations=motion.translations[:run.frames])
    return Clip(tracked, rendered[:run.frames], plates[:run.frames],
                backgrounds[:run.frames], estimate, auto)


def inputs(clip: Clip, knowledge: str) -> tuple[list, Callable | None]:
    """(targets [(rgb, alpha | None)], backdrops: scene frame -> [H, W, 3] or None)."""
    frames = clip.motion.frames
    if knowledge == "matte":
        return [(composite_alpha(p, a.numpy(), (0.0, 0.0, 0.0)), a.numpy())
                for p, (_, a) in zip(clip.plates, clip.truth)], None
    targets = [(p, None) for p in clip.plates]
    if knowledge == "clean_plate":
        return targets, lambda f: clip.backgrounds[frames.index(f)]
    if knowledge == "estimate":
        return targets, lambda f: clip.estimate.image
    if knowledge == "raw":
        return targets, None
    if knowledge == "plate_itself":
        return targets, lambda f: clip.plates[frames.index(f)]
    raise ConfigError(f"unknown knowledge {knowledge!r}; choose one of {', '.join(KNOWLEDGE)}")


def starts(clip: Clip, run: PlateRun) -> list[tuple[str, RigidPose | None, float]]:
    """(start, pose, overlap): the rest pose, and the no-overlap shifts (seeded directions)."""
    motion = clip.motion
    rest = motion.splats.to_torch(dtype=torch.float32)
    centre = asset_centre(rest).double().numpy()
    target_alpha = clip.truth[0][1]
    footprint = image_footprint(target_alpha)
    rng = np.random.default_rng(run.seed)
    cases = []
    if "aligned" in run.starts:
        cases.append(("aligned", None, 1.0))
    if "no_overlap" in run.starts:
        for _ in range(run.directions):
            theta = float(rng.uniform(0.0, 2 * math.pi))
            shift = NO_OVERLAP_RADIUS * footprint * np.array([math.cos(theta), math.sin(theta)])
            pose = RigidPose(np.zeros(3), image_plane_shift(motion.train_camera, centre, shift))
            with torch.no_grad():
                alpha = render(pose.apply(rest, asset_centre(rest)), motion.train_camera,
                               backend=run.backend).alpha
            cases.append(("no_overlap", pose, mask_overlap(alpha, target_alpha)))
    return cases


def score(clip: Clip, result, backend: str) -> dict:
    """cp_error (fraction of the size) and psnr (dB, mean over frames) of a tracked motion."""
    motion = clip.motion
    tracked = dataclasses.replace(motion, rotations=np.asarray(result.rotations),
                                  translations=np.asarray(result.translations))
    renders = render_clip(tracked, motion.train_camera, backend=backend)
    quality = [psnr(r.permute(2, 0, 1), t.permute(2, 0, 1))
               for (r, _), (t, _) in zip(renders, clip.truth)]
    size = asset_size(motion.splats.to_torch(dtype=torch.float32))
    return {"cp_error": control_point_error(result.translations, motion.translations, size),
            "psnr": float(np.mean(quality))}


def run_plates(run: PlateRun, callback: Callable[[dict], None] | None = None) -> list[dict]:
    """Every case of ``run``: one record (dict) per asset, camera, lighting, knowledge, start
    and loss; ``callback(record)`` after each."""
    photo, records = photograph(run.photo), []
    config = run.config()
    for asset in run.assets:
        for camera, lighting in run.conditions:
            clip = make_clip(asset, camera, lighting, run, photo)
            cases = starts(clip, run)
            for knowledge in run.knowledge:
                targets, backdrops = inputs(clip, knowledge)
                for case, (start, pose, overlap) in enumerate(cases):
                    for loss in run.losses:
                        began = time.perf_counter()
                        result = track_sequence(
                            clip.motion.splats, clip.motion.rig, clip.motion.train_camera,
                            targets, clip.motion.frames, "direct", config, loss=loss,
                            init=pose, seed=run.seed, backend=run.backend,
                            backdrops=backdrops, appearance="clip")
                        record = {"asset": asset, "camera": camera, "lighting": lighting,
                                  "knowledge": knowledge, "start": start, "case": case,
                                  "loss": loss, "overlap": overlap,
                                  "reliability": clip.estimate.reliability,
                                  "auto": clip.auto,
                                  **score(clip, result, run.backend),
                                  "gain": result.extra["appearance.gain"][-1].tolist(),
                                  "seconds": time.perf_counter() - began}
                        records.append(record)
                        if callback is not None:
                            callback(record)
    return records


def targets_met(records: list[dict]) -> list[tuple[str, bool | None, str]]:
    """The issue's targets: (target, met (None: not measured), the figures behind it)."""
    def pick(**where):
        return [r for r in records if all(r[k] in v if isinstance(v, tuple) else r[k] == v
                                          for k, v in where.items())]

    out = []
    for lighting in LIGHTING:
        spectral = pick(knowledge=("matte", "clean_plate"), start="no_overlap",
                        loss="spectral", lighting=lighting)
        pairs = []
        for r in spectral:
            twin = pick(**{k: r[k] for k in ("asset", "camera", "lighting", "knowledge",
                                              "case")}, loss="pixel", start="no_overlap")
            if twin:
                pairs.append((r, twin[0]))
        if not spectral:
            out.append((f"known matte/background, no-overlap, lighting {lighting}: error "
                        "< 3 %", None, "not measured"))
            continue
        worst = max(r["cp_error"] for r in spectral)
        out.append((f"known matte/background, no-overlap, lighting {lighting}: spectral error "
                    "< 3 % of the size", worst < RECOVERED,
                    f"worst {100 * worst:.1f} % over {len(spectral)} runs"))
        if pairs:
            gain = min(s["psnr"] - p["psnr"] for s, p in pairs)
            out.append((f"known matte/background, no-overlap, lighting {lighting}: spectral "
                        ">= pixel + 3 dB", gain >= 3.0, f"smallest gain {gain:+.1f} dB over "
                                                        f"{len(pairs)} pairs"))
    nothing = [r for r in pick(camera="locked") if r["knowledge"] == r.get("auto")]
    aligned = [(r, pick(**{k: r[k] for k in ("asset", "lighting", "case", "knowledge")},
                        camera="locked", start="aligned", loss="pixel"))
               for r in nothing if r["start"] == "aligned" and r["loss"] == "spectral"]
    aligned = [(s, p[0]) for s, p in aligned if p]
    if aligned:
        worse = [s["cp_error"] - p["cp_error"] for s, p in aligned]
        out.append(("nothing but the plate (what auto picks), locked-off, aligned: spectral "
                    "never worse than pixel", max(worse) <= 0.0,
                    "spectral - pixel error: " + ", ".join(f"{100 * w:+.1f} %" for w in worse)))
    far = [r for r in nothing if r["start"] == "no_overlap" and r["loss"] == "spectral"]
    if far:
        got = sum(r["cp_error"] < RECOVERED for r in far)
        out.append(("nothing but the plate (what auto picks), locked-off: spectral recovers "
                    "half of the no-overlap starts", 2 * got >= len(far), f"{got} of {len(far)}"))
    return out


def table_rows(records: list[dict]) -> list[dict]:
    """Records as rounded rows for a table: error in %, PSNR in dB."""
    return [{**{k: r[k] for k in ("asset", "camera", "lighting", "knowledge", "start", "case",
                                  "loss")},
             "cp_error_pct": round(100 * r["cp_error"], 1), "psnr": round(r["psnr"], 1),
             "overlap": round(r["overlap"], 2), "seconds": round(r["seconds"], 1)}
            for r in records]


def auto_choice(records: list[dict], run: PlateRun) -> None:
    """Fill in ``auto`` where records lack it (made before it was recorded), from their clips."""
    photo, known = photograph(run.photo), {}
    for r in records:
        if "auto" not in r:
            key = (r["asset"], r["camera"], r["lighting"])
            if key not in known:
                known[key] = make_clip(*key, run, photo).auto
            r["auto"] = known[key]


__all__ = ["auto_choice", "PlateRun", "KNOWLEDGE", "photograph", "make_clip", "inputs",
           "starts", "score", "run_plates", "targets_met", "table_rows"]
