"""Peak memory of one forward and backward pass of the torch backend (CPU).

    .venv/bin/python scripts/measure_render_memory.py [--splats 200000] [--size 512]

Renders a seeded synthetic scene (engine.render.synthetic) with every splat field requiring
gradients, backpropagates rgb.sum() + alpha.sum(), and prints the times and the process's
peak resident set size (getrusage ru_maxrss, which counts torch's CPU allocations too).
Run it in a fresh process: the peak is the whole process's.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spectralsplats_addon.engine.render import render  # noqa: E402
from spectralsplats_addon.lab.synthetic import (  # noqa: E402
    make_synthetic_splats,
    synthetic_camera,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splats", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=512, help="image width and height")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    splats = make_synthetic_splats(args.splats, seed=args.seed)
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh"):
        getattr(splats, name).requires_grad_(True)
    camera = synthetic_camera(args.size, args.size)
    start = time.perf_counter()
    out = render(splats, camera, backend="torch")
    forward = time.perf_counter() - start
    (out.rgb.sum() + out.alpha.sum()).backward()
    backward = time.perf_counter() - start - forward
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    visible = int((out.radii > 0).all(-1).sum())
    print(f"{args.splats} splats ({visible} visible), {args.size} x {args.size}: "
          f"forward {forward:.1f} s, backward {backward:.1f} s, mean alpha "
          f"{out.alpha.mean():.3f}, peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
