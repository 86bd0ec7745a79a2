"""Times the spectral loss inside a rigid-tracking iteration, and the multi-resolution
spectral phase against the full-size one, on the real donut (CPU).

    python scripts/bench_spectral.py [--sizes 64 128 256] [--runs 9] [--phase-sizes 128 256 512]
                                     [--phase-steps 40] [--no-write]

1. One iteration, at each size (square camera framing the donut, 45,624 splats): the pose
   (axis-angle, translation) moves the asset (engine/deform/pose.apply_rigid), render() draws it
   (numba backend), a loss compares it with a target (the asset at its true pose) and the
   backward reaches the pose. Three losses: none (the sum of the image, to time the render
   alone), the pixel loss of the spatial phase (L1 + D-SSIM), and the spectral loss with
   every band weighted (the costliest schedule step). Medians of ``--runs`` after two
   warm-up calls; the spectral loss's share of the iteration is

       share = (loss forward + backward alone, on a leaf image of that size) / (iteration),

   target at most 5 %.
2. The spectral phase (track_rigid_frame with spectral_fraction = 1: warm-up, then the bands
   open) from a start shifted by one footprint, multi-resolution on vs off: wall time of the
   whole phase and the speed-up.
Prints the tables and writes them under "## Spectral loss and multi-resolution (CPU)" in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_doc import machine_line, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DONUT = ROOT.parent / "shared" / "data" / "real_splats" / "donut.ply"
HEADING = "Spectral loss and multi-resolution (CPU)"
SHARE_TARGET = 0.05
FILL = 0.5        # the donut's bounding sphere spans half the image side
WARMUP_RUNS = 3
SUBSET = 2000    # splats of the coverage subset the shift experiment tracks


def median_ms(fn, runs: int) -> tuple[float, float]:
    """(median, fastest) wall time of fn() in milliseconds after WARMUP_RUNS calls."""
    for _ in range(WARMUP_RUNS):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times), min(times)


def iteration_times(splats, size: int, runs: int) -> dict:
    """Median ms of one iteration with each loss, and of each loss alone, at size x size."""
    import torch

    from spectralsplats_addon.engine.loss.spatial import spatial_loss
    from spectralsplats_addon.engine.render.api import render
    from spectralsplats_addon.engine.deform.pose import apply_rigid, asset_centre
    from spectralsplats_addon.lab.shift_experiment import framing_camera
    from spectralsplats_addon.engine.loss.spectral import spectral_loss

    camera = framing_camera(splats, size, FILL)
    centre = asset_centre(splats)
    with torch.no_grad():
        out = render(splats, camera)
    target = torch.cat([out.rgb.permute(2, 0, 1), out.alpha[None]], 0)  # [4, H, W]
    num_bands = max(1, (size // 2).bit_length())  # radii up to the Nyquist radius size / 2
    weights = torch.ones(num_bands)
    rotvec = torch.full((3,), 0.01, requires_grad=True)
    translation = torch.full((3,), 0.01, requires_grad=True)
    losses = {"render only": lambda img: img.sum(),
              "pixel (L1 + D-SSIM)": lambda img: spatial_loss(img, target, "l1", 0.2),
              "spectral (all bands)": lambda img: spectral_loss(img, target, weights)}

    def iteration(loss_fn):
        rotvec.grad = translation.grad = None
        o = render(apply_rigid(splats, rotvec, translation, centre), camera)
        loss_fn(torch.cat([o.rgb.permute(2, 0, 1), o.alpha[None]], 0)).backward()

    leaf = (target + 0.01 * torch.randn_like(target)).requires_grad_(True)

    def loss_alone(loss_fn):
        leaf.grad = None
        loss_fn(leaf).backward()

    row = {}
    for name, fn in losses.items():
        row[name] = median_ms(lambda fn=fn: iteration(fn), runs)
        row[name + " alone"] = median_ms(lambda fn=fn: loss_alone(fn), max(runs, 21))
    return row


def phase_times(splats, size: int, steps: int) -> dict:
    """Wall seconds of the spectral phase (steps steps, spectral_fraction 1) with
    multi-resolution on and off, from a start shifted one footprint to the right."""
    import numpy as np

    from spectralsplats_addon.lab.shift_experiment import (EXPERIMENT_CONFIG, ShiftCase,
                                                              framing_camera, image_plane_shift,
                                                              make_scene)
    from spectralsplats_addon.engine.track.rigid import track_rigid_frame

    scene = make_scene("donut", splats, framing_camera(splats, size, FILL))
    shift = image_plane_shift(scene.camera, scene.centre.double().numpy(),
                              (scene.footprint_px, 0.0))
    start = ShiftCase(0, 1.0, 0.0, np.zeros(3), shift).pose
    num_bands = max(1, (size // 2).bit_length())
    result = {}
    for multires in (False, True):
        config = EXPERIMENT_CONFIG.replace(iterations=steps, spectral_fraction=1.0,
                                           num_bands=num_bands, multiresolution=multires)
        track_rigid_frame(splats, scene.camera, scene.target_rgb, scene.target_alpha,
                          config.replace(iterations=2), init=start, centre=scene.centre)
        levels = []
        res = track_rigid_frame(splats, scene.camera, scene.target_rgb, scene.target_alpha,
                                config, init=start, centre=scene.centre,
                                callback=lambda e, levels=levels: levels.append(
                                    e["losses"].get("resolution", size)))
        result[multires] = (res.seconds, sorted(set(int(x) for x in levels)))
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--phase-sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--phase-steps", type=int, default=40)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    import torch

    from spectralsplats_addon.engine.io import read_splats
    from spectralsplats_addon.lab.shift_experiment import EXPERIMENT_CONFIG

    splats = read_splats(DONUT).to_torch()
    load_before = os.getloadavg()[0]
    lines = ["| size | render only | + pixel loss | + spectral loss | spectral loss alone "
             "| pixel loss alone | spectral share | target |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    verdicts = []
    for size in args.sizes:
        row = iteration_times(splats, size, args.runs)
        it_s = row["spectral (all bands)"][0]
        share = row["spectral (all bands) alone"][0] / it_s
        ok = "met" if share <= SHARE_TARGET else "missed"
        verdicts.append(share <= SHARE_TARGET)
        lines.append(f"| {size} | {row['render only'][0]:.1f} ms | "
                     f"{row['pixel (L1 + D-SSIM)'][0]:.1f} ms | {it_s:.1f} ms | "
                     f"{row['spectral (all bands) alone'][0]:.2f} ms | "
                     f"{row['pixel (L1 + D-SSIM) alone'][0]:.2f} ms | {100 * share:.1f} % | "
                     f"{ok} |")
        print(lines[-1], flush=True)

    from spectralsplats_addon.lab.shift_experiment import coverage_subset

    phase_lines = ["| asset | size | steps | full size | multi-resolution | speed-up | "
                   "levels used |",
                   "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    assets = {"donut (45,624)": splats,
              f"donut subset ({SUBSET:,})": coverage_subset(splats, SUBSET)}
    for name, asset in assets.items():
        for size in args.phase_sizes:
            res = phase_times(asset, size, args.phase_steps)
            (off, _), (on, levels) = res[False], res[True]
            phase_lines.append(f"| {name} | {size} | {args.phase_steps} | {off:.2f} s | "
                               f"{on:.2f} s | {off / on:.2f}x | "
                               f"{', '.join(f'{s} px' for s in levels)} |")
            print(phase_lines[-1], flush=True)
    load_after = os.getloadavg()[0]

    body = "\n".join([
        f"Measured with `python scripts/bench_spectral.py` on {machine_line()}; torch "
        f"{torch.__version__}. The donut (45,624 splats, SH degree 0) seen by a square camera "
        f"that fits its bounding sphere in half the image side; numba backend; load average "
        f"{load_before:.2f} at the start, {load_after:.2f} at the end (the cores are shared, "
        f"so medians can carry other people's load).",
        "",
        f"One tracking iteration: rigid pose -> render() -> loss against a [4, H, W] target "
        f"(RGB + alpha) -> backward to the pose. Medians of {args.runs} runs after "
        f"{WARMUP_RUNS} warm-up calls. The spectral loss weights every band (radii up to the "
        f"Nyquist radius), its costliest step. Its share of the iteration is the loss alone "
        f"(forward + backward on a leaf image of that size, median of at least 21) over the "
        f"iteration with the spectral loss; target at most {100 * SHARE_TARGET:.0f} %.",
        "",
        *lines,
        "",
        f"Spectral loss share at most 5 % at every size: "
        f"{'met' if all(verdicts) else 'missed'}.",
        "",
        f"The spectral phase alone (track_rigid_frame, spectral_fraction 1, the experiment's "
        f"other settings, bands up to the Nyquist radius), from a start shifted one image "
        f"footprint: wall time with every step at the full size against multi-resolution "
        f"(each step rendered at the lowest side that holds the weighted bands, never below "
        f"{EXPERIMENT_CONFIG.multiresolution_min_side} px; engine/loss/multires.py). One warm-up "
        f"frame of 2 steps first. On the CPU the "
        f"per-splat work (projection, SH, sorting) does not shrink with the image, so the "
        f"gain grows with pixels per splat: the full donut and the {SUBSET:,}-splat coverage "
        f"subset that the shift experiment tracks (lab/shift_experiment.coverage_subset).",
        "",
        *phase_lines,
    ])
    if not args.no_write:
        write_section(HEADING, body)
        print(f"wrote '## {HEADING}' in docs/benchmarks.md")


if __name__ == "__main__":
    main()
