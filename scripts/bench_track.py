"""Tracking speed on the real donut (CPU): seconds per frame for every model and preset, and
the 24-frame target.

    python scripts/bench_track.py [--sizes 128 256] [--models rigid direct mlp]
                                  [--presets robust fast] [--frames 2] [--clip-frames 24]
                                  [--no-grid] [--no-clip] [--no-write]

1. The grid: for each size, the donut's known motion (lab/examples.known_motion("donut"):
   45,624 splats, 512 control points, its training camera) over its first ``--frames``
   frames is tracked by engine/track/sequence.track_sequence with each model and preset. Seconds per
   frame = the run's wall time / frames (the first frame's rigid alignment of direct and mlp
   included, so a longer clip costs a little less per frame); PSNR = mean over the frames.
2. The target: a ``--clip-frames``-frame clip at 128 x 128 with the "fast" preset and the
   direct model, timed once from start to end; target under 3 minutes. Also through a proxy
   of ``--clip-proxy`` splats (engine/track/proxy.py), PSNR of the full asset. The clip runs first.
Prints the tables and writes them under "## Tracking speed (CPU)" in docs/benchmarks.md.
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

HEADING = "Tracking speed (CPU)"
TARGET_SECONDS = 180.0


def timed_track(motion, targets, model: str, config) -> tuple[float, object]:
    """(wall seconds, TrackResult) of track_sequence over the motion's frames."""
    from spectralsplats_addon.engine.track.sequence import track_sequence

    start = time.perf_counter()
    result = track_sequence(motion.splats, motion.rig, motion.train_camera, targets,
                            motion.frames, model, config)
    return time.perf_counter() - start, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--models", nargs="+", default=["rigid", "direct", "mlp"])
    parser.add_argument("--presets", nargs="+", default=["robust", "fast"])
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--clip-frames", type=int, default=24)
    parser.add_argument("--no-grid", action="store_true")
    parser.add_argument("--no-clip", action="store_true")
    parser.add_argument("--clip-proxy", type=int, default=10000,
                        help="also time the clip tracked through a proxy of this many splats "
                             "(engine/track/proxy.track_with_proxy); 0: not")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import numpy as np

    from spectralsplats_addon.engine.config import preset
    from spectralsplats_addon.lab.examples import known_motion, render_clip

    load_before = os.getloadavg()[0]
    parts = []
    warm = known_motion("donut", 1, 32)
    timed_track(warm, render_clip(warm, warm.train_camera), "direct",
                preset("fast").replace(iterations=2, align_iterations=2))  # compile kernels
    if not args.no_clip:
        motion = known_motion("donut", args.clip_frames, 128)
        targets = render_clip(motion, motion.train_camera)
        seconds, result = timed_track(motion, targets, "direct", preset("fast"))
        verdict = "met" if seconds < TARGET_SECONDS else "missed"
        line = (f"Target: a {args.clip_frames}-frame clip at 128 x 128, \"fast\" preset, direct "
                f"model, under {TARGET_SECONDS / 60:.0f} minutes: {seconds:.0f} s "
                f"({seconds / args.clip_frames:.1f} s per frame), {verdict}; PSNR mean "
                f"{np.mean(result.psnr):.1f} dB, lowest {np.min(result.psnr):.1f} dB.")
        print(line, flush=True)
        parts.append(line)
        if args.clip_proxy:
            from spectralsplats_addon.engine.track.proxy import track_with_proxy

            start = time.perf_counter()
            proxied = track_with_proxy(motion.splats, motion.rig, motion.train_camera, targets,
                                       motion.frames, "direct", preset("fast"),
                                       proxy=args.clip_proxy)
            seconds = time.perf_counter() - start
            verdict = "met" if seconds < TARGET_SECONDS else "missed"
            line = (f"The same through a proxy of {args.clip_proxy:,} splats "
                    f"(engine/track/proxy.track_with_proxy): {seconds:.0f} s "
                    f"({seconds / args.clip_frames:.1f} s per frame), {verdict}; PSNR of the "
                    f"full asset mean {np.mean(proxied.psnr):.1f} dB, lowest "
                    f"{np.min(proxied.psnr):.1f} dB.")
            print(line, flush=True)
            parts.append(line)
    if not args.no_grid:
        lines = ["| size | model | preset | steps per frame | seconds per frame | mean PSNR (dB) |",
                 "| ---: | --- | --- | ---: | ---: | ---: |"]
        clips = {}
        for name in args.presets:
            config = preset(name)
            for size in args.sizes:
                if size not in clips:
                    motion = known_motion("donut", args.frames, size)
                    clips[size] = motion, render_clip(motion, motion.train_camera)
                motion, targets = clips[size]
                for model in args.models:
                    seconds, result = timed_track(motion, targets, model, config)
                    row = (f"| {size} | {model} | {name} | {config.iterations} | "
                           f"{seconds / args.frames:.1f} | {np.mean(result.psnr):.1f} |")
                    print(row, flush=True)
                    lines.append(row)
        parts.append(
            f"Seconds per frame, donut (45,624 splats, 512 control points), the first "
            f"{args.frames} frames of its known motion, training view; `--frames "
            f"{args.frames}`. Direct and mlp include the first frame's rigid alignment "
            f"({preset('fast').align_iterations} steps); mlp renders "
            f"{preset('fast').mlp_frames_per_step} frames per step.\n\n" + "\n".join(lines))
    load_after = os.getloadavg()[0]
    command = "python scripts/bench_track.py " + " ".join(argv if argv is not None
                                                          else sys.argv[1:])
    body = (f"Measured with `{command.strip()}` on {machine_line()}; load average "
            f"{load_before:.2f} at the start, {load_after:.2f} at the end (the 2 cores are "
            "shared with other work, so the figures are upper bounds).\n\n" + "\n\n".join(parts))
    publish(HEADING, body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
