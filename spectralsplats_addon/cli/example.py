"""Write a known-motion example: footage of an asset moving by a known control-point motion.

    spectralsplats example --asset articulated --frames 24 --size 128 --out examples/body
    spectralsplats example --asset donut --out examples/donut --format png
    spectralsplats example --asset scan.ply --out examples/scan      # the donut's motion

Writes into OUT:
    train.mp4 and/or train/frame_0001.png ...   the training view (PNGs: RGBA, straight colour)
    novel.mp4 and/or novel/frame_0001.png ...   a second view of the same motion
    asset.ply, rig.npz                          the rest asset and its control-point rig
    result.npz                                  the true motion (TrackResult, model "direct")
    camera.json, novel_camera.json              both cameras as Blender camera data
                                                (engine/conventions.BlenderCamera)
Scene frames are 1..F; the asset sits in the world at the identity (its object matrix is
the identity). The engine's work is lab/examples.py. Prints one line per file written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "write a known-motion example clip (articulated body, donut or a .ply) with its truth"
FORMATS = ("mp4", "png", "both")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--asset", default="articulated", metavar="NAME|PATH.ply",
                        help="'articulated', 'donut', or a .ply moved like the donut "
                             "(default: articulated)")
    parser.add_argument("--frames", type=int, default=24, help="number of frames (default 24)")
    parser.add_argument("--size", type=int, default=128,
                        help="image side in pixels, square (default 128)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    parser.add_argument("--format", choices=FORMATS, default="both",
                        help="clips as an H.264 mp4, RGBA PNGs, or both (default both)")
    parser.add_argument("--control-points", type=int, metavar="P",
                        help="control points of the rig (default: 48 for the body, 512 else)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the body's splats and of the rig's sampling")
    parser.add_argument("--backend", default="auto", help="render backend (default auto)")


def _motion(args):
    from ..engine.errors import ConfigError
    from ..lab.examples import EXAMPLE_NAMES, known_motion

    common = dict(num_frames=args.frames, size=args.size,
                  num_control_points=args.control_points, seed=args.seed)
    if args.asset in EXAMPLE_NAMES:
        return known_motion(args.asset, **common)
    path = Path(args.asset)
    if path.suffix.lower() != ".ply":
        raise ConfigError(f"--asset {args.asset!r} is neither an example "
                          f"({', '.join(EXAMPLE_NAMES)}) nor a .ply file")
    return known_motion("donut", path=path, **common)


def write_example(args) -> list[Path]:
    """Everything the module docstring lists, into args.out; returns the paths written."""
    from ..lab.examples import render_clip, write_clip
    from ..engine.io import write_ply
    from ..engine.job.model import camera_to_dict

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    motion = _motion(args)
    written = []
    for view, camera in (("train", motion.train_camera), ("novel", motion.novel_camera)):
        frames = render_clip(motion, camera, backend=args.backend)
        if args.format in ("mp4", "both"):
            written.append(write_clip(frames, out / f"{view}.mp4", motion.background))
        if args.format in ("png", "both"):
            written.append(write_clip(frames, out / view, motion.background,
                                      first_number=motion.frames[0]))
    write_ply(out / "asset.ply", motion.splats)
    motion.rig.save(out / "rig.npz")
    motion.truth().save(out / "result.npz")
    written += [out / "asset.ply", out / "rig.npz", out / "result.npz"]
    for name, blender in (("camera.json", motion.train_blender_camera),
                          ("novel_camera.json", motion.novel_blender_camera)):
        (out / name).write_text(json.dumps(camera_to_dict(blender), indent=2) + "\n")
        written.append(out / name)
    return written


MAX_FRAMES = 10_000
MAX_SIZE = 4096  # pixels a side: each frame is rendered whole, in memory


def run(args) -> int:
    from ..engine.errors import SpectralSplatsError

    if not (1 <= args.frames <= MAX_FRAMES and 8 <= args.size <= MAX_SIZE):
        print(f"spectralsplats example: --frames must be 1 to {MAX_FRAMES} and --size 8 to "
              f"{MAX_SIZE}, got {args.frames} and {args.size}", file=sys.stderr)
        return 2
    try:
        written = write_example(args)
    except (SpectralSplatsError, ValueError) as error:
        print(f"spectralsplats example: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
