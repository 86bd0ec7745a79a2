"""Show what the tracker will compare for one frame, before spending minutes on tracking.

    spectralsplats preview --asset donut.ply --video plate.mp4 --camera camera.json \\
        --frames 1-48 --frame 12 --out shots/donut

Takes the arguments of `spectralsplats track`, writes the same job folder in --out, and,
instead of tracking, writes one PNG (default <out>/preview_<frame>.png) of three panels: the
plate as the tracker sees it (composited over the background colour where there is a matte
or alpha), the asset at its start pose (or at a result's pose, --result) rendered over what
the tracker composites it over (the colour, the clean plate or the background estimated from
the clip), and their absolute difference. The plate line (and the warning when neither a
matte nor a background is given) goes to stderr, the image's path to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import track

HELP = "write one frame's plate beside the render over its background: what tracking compares"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    track.add_arguments(parser)
    parser.add_argument("--frame", type=int, metavar="F",
                        help="the scene frame to show (default: the first tracked frame)")
    parser.add_argument("--image", metavar="PNG",
                        help="where to write the preview (default <out>/preview_<frame>.png)")
    parser.add_argument("--result", metavar="NPZ",
                        help="show the render at this result's pose instead of the start pose")


def preview_image(folder, scene_frame: int | None = None, result_path=None
                  ) -> tuple[int, np.ndarray, dict]:
    """(scene frame, image [H, 3 W, 3] float32: plate | render over its background |
    difference, the worker's "plate" event fields) for the job in ``folder``."""
    import torch

    from ..engine.job import load_job
    from ..engine.render.api import render
    from ..engine.result import TrackResult
    from ..engine.track.plate import Backdrop, Plate
    from ..engine.worker.run_job import (JobFootage, job_cameras, prepare_plate,
                                         start_footprint)
    from ..engine.deform.skinning import pose_splats

    loaded = load_job(folder)
    frames = [frame.scene_frame for frame in loaded.job.frames]
    scene_frame = frames[0] if scene_frame is None else int(scene_frame)
    if scene_frame not in frames:
        raise track.UsageError(f"--frame {scene_frame}: the job tracks scene frames "
                               f"{frames[0]} to {frames[-1]}; choose one of them")
    index = frames.index(scene_frame)
    footage = JobFootage(loaded, loaded.job.settings.resolution)
    try:
        camera = job_cameras(loaded, footage.size)[index]
        splats = loaded.splats.to_torch(dtype=torch.float32)
        choice, fields = prepare_plate(footage, loaded.job,
                                       lambda: start_footprint(splats, camera))
        if result_path is not None:
            result = TrackResult.load(result_path)
            if scene_frame in result.frames.tolist():
                i = result.frames.tolist().index(scene_frame)
                splats = pose_splats(splats, loaded.rig, result.rotations[i],
                                     result.translations[i])
        target = footage(scene_frame)[0]
        backdrop = None if choice.background == "colour" else \
            Backdrop(torch.as_tensor(footage.backdrop(scene_frame)))
        colour = loaded.job.frames[index].background
        with torch.no_grad():
            out = render(splats, camera)
            seen = Plate(backdrop).over(out.rgb, out.alpha, 1, torch.tensor(colour)).numpy()
    finally:
        footage.close()
    difference = np.abs(seen - target)
    return scene_frame, np.hstack([target, seen, difference]).astype(np.float32), fields


def write_png(path: Path, image: np.ndarray) -> Path:
    """image [H, W, 3] in [0, 1] -> an 8-bit PNG at ``path``, written whole or not at all."""
    from PIL import Image

    from ..engine.video.writer import to_uint8

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    Image.fromarray(np.ascontiguousarray(to_uint8(image))).save(partial, format="PNG")
    partial.replace(path)
    return path


def run(args) -> int:
    from ..engine.errors import SpectralSplatsError
    from .progress_line import event_text

    try:
        data, splats, rig, folder = track.build_job(args)
        track.write_job_folder(data, splats, rig, folder)
        frame, image, fields = preview_image(folder, args.frame, args.result)
        path = Path(args.image) if args.image else folder / f"preview_{frame}.png"
        write_png(path, image)
    except (track.UsageError, SpectralSplatsError, ValueError) as error:
        print(f"spectralsplats preview: {error}", file=sys.stderr)
        return 2
    print(event_text({"event": "plate", **fields}), file=sys.stderr)
    print(path.resolve())
    return 0
