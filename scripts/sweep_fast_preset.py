"""Steps per frame against tracking quality on the donut's 24-frame example: the sweep behind
the "fast" preset's 120 steps and control-point rate of 3e-3.

    python scripts/sweep_fast_preset.py [--frames 24] [--size 128]
        [--variants 150:2e-3 120:2e-3 100:2e-3 120:3e-3 100:3e-3 120:3e-3:0.45 100:3e-3:0.45]

Each variant ITERATIONS:LR_CONTROL_POINTS[:SPECTRAL_FRACTION] tracks the donut's known motion
(lab/examples.known_motion("donut"), training view) with the direct model and
preset("fast") with those fields replaced, and prints the wall time and the PSNR of every
frame against its target (mean and lowest). PSNR does not depend on the machine's load;
the time does (run one sweep at a time on a quiet machine to compare times).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_track import timed_track  # noqa: E402

DEFAULT_VARIANTS = ["150:2e-3", "120:2e-3", "100:2e-3", "120:3e-3", "100:3e-3",
                    "120:3e-3:0.45", "100:3e-3:0.45"]


def parse_variant(text: str) -> dict:
    """'120:3e-3' -> {'iterations': 120, 'lr_control_points': 0.003}; a third field sets
    spectral_fraction."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SystemExit(f"variant {text!r}: write ITERATIONS:LR[:SPECTRAL_FRACTION], "
                         "e.g. 120:3e-3")
    changes = {"iterations": int(parts[0]), "lr_control_points": float(parts[1])}
    if len(parts) == 3:
        changes["spectral_fraction"] = float(parts[2])
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variants]

    import numpy as np

    from spectralsplats_addon.engine.config import preset
    from spectralsplats_addon.lab.examples import known_motion, render_clip

    motion = known_motion("donut", args.frames, args.size)
    targets = render_clip(motion, motion.train_camera)
    print("| steps per frame | lr_control_points | spectral_fraction | seconds | mean PSNR (dB) "
          "| lowest PSNR (dB) |\n| ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
    for changes in variants:
        config = preset("fast").replace(**changes)
        seconds, result = timed_track(motion, targets, "direct", config)
        print(f"| {config.iterations} | {config.lr_control_points:g} | "
              f"{config.spectral_fraction:g} | {seconds:.0f} | {np.mean(result.psnr):.1f} | "
              f"{np.min(result.psnr):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
