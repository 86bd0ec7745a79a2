"""What proxy tracking saves and what it costs, on the real donut (CPU).

    python scripts/bench_proxy.py [--frames 3] [--size 128] [--proxies 2000 5000 10000]
                                  [--preset fast] [--model direct] [--no-write]

The donut's known motion (lab/examples.known_motion("donut"): 45,624 splats, 512 control
points, training camera) is tracked over its first ``--frames`` frames with the preset, once
with every splat (engine/track/sequence.track_sequence) and once per proxy size
(engine/track/proxy.track_with_proxy: the motion fitted on that many splats drives them all). For
each: seconds per frame (the run's wall time over the frames, first-frame alignment
included), the mean PSNR of the FULL asset rendered with the recovered motion against the
target frames, and the mean control-point error against the true motion (as a fraction of the
asset size, and against the full run's motion). Prints the table and writes it under
"## Proxy tracking (CPU)" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from benchmarks_doc import machine_line, publish  # noqa: E402

HEADING = "Proxy tracking (CPU)"


def control_point_error(result, motion, size: float, reference=None) -> float:
    """Mean |p_k + t_k - (p_k + t_k_ref)| / size over frames and control points, where the
    reference is the true motion (or another result)."""
    import numpy as np

    ref = motion.translations[:result.num_frames] if reference is None else reference.translations
    return float(np.linalg.norm(result.translations - ref, axis=-1).mean()) / size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--proxies", type=int, nargs="+", default=[2000, 5000, 10000])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--model", default="direct")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from spectralsplats_addon.engine.config import preset
    from spectralsplats_addon.lab.examples import known_motion, render_clip
    from spectralsplats_addon.engine.track.proxy import full_asset_psnr, track_with_proxy
    from spectralsplats_addon.engine.deform.pose import asset_size
    from spectralsplats_addon.engine.track.sequence import track_sequence

    torch.set_num_threads(os.cpu_count() or 1)
    load_before = os.getloadavg()[0]
    motion = known_motion("donut", args.frames, args.size)
    targets = render_clip(motion, motion.train_camera)
    config = preset(args.preset)
    size = asset_size(motion.splats)
    common = dict(cameras=motion.train_camera, targets=targets, frames=motion.frames,
                  model=args.model, config=config)
    rows = []
    start = time.perf_counter()
    full = track_sequence(motion.splats, motion.rig, **common)
    seconds = (time.perf_counter() - start) / args.frames
    full_psnr = full_asset_psnr(motion.splats, motion.rig, full, motion.train_camera, targets)
    rows.append(("all", len(motion.splats), seconds, float(np.mean(full_psnr)),
                 control_point_error(full, motion, size), 0.0))
    print(rows[-1], flush=True)
    for count in args.proxies:
        start = time.perf_counter()
        result = track_with_proxy(motion.splats, motion.rig, proxy=count, **common)
        seconds = (time.perf_counter() - start) / args.frames
        rows.append((f"proxy {count:,}", count, seconds, float(np.mean(result.psnr)),
                     control_point_error(result, motion, size),
                     control_point_error(result, motion, size, full)))
        print(rows[-1], flush=True)
    load_after = os.getloadavg()[0]

    base = rows[0][2]
    lines = ["| splats tracked | seconds per frame | speed-up | full-asset PSNR (dB) | "
             "control-point error vs truth | vs full tracking |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, _count, sec, db, err, err_full in rows:
        lines.append(f"| {name} | {sec:.1f} | {base / sec:.1f}x | {db:.1f} | {100 * err:.2f} % | "
                     f"{100 * err_full:.2f} % |")
    body = (f"Measured with `python scripts/bench_proxy.py --frames {args.frames} --size "
            f"{args.size} --preset {args.preset} --model {args.model} --proxies "
            f"{' '.join(map(str, args.proxies))}` on {machine_line()}; load average "
            f"{load_before:.2f} at the start, {load_after:.2f} at the end (the cores are "
            "shared). The donut's known motion (lab/examples: 45,624 splats, 512 control "
            f"points, {args.size} x {args.size} px training view), frames 1-{args.frames}, "
            f"the \"{args.preset}\" preset, model {args.model}; seconds per frame include the "
            "first frame's rigid alignment. PSNR: the full asset rendered with the recovered "
            "motion against the target frames (mean over frames). Control-point error: mean "
            "|t_k - t_k'| over frames and control points, in % of the asset size (bounding-box "
            "diagonal), against the true motion and against the motion that tracking every "
            "splat recovers.\n\n" + "\n".join(lines))
    publish(HEADING, body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
