"""Render a tracked result: the asset skinned by the result, seen by the job's camera.

    spectralsplats render --job shots/donut --out shots/donut/preview.mp4
    spectralsplats render --job shots/donut --out shots/donut/preview/ --no-side-by-side

For each frame of the result (default: the job's result.npz), the asset's splats are skinned
by the control-point motion (engine/deform/skinning.py), moved by the frame's object transform, and
rendered from the frame's camera at the tracking size (settings.resolution, or
--resolution), over the frame's background. With --side-by-side (the default) the footage
(composited over the same background) is on the left and the render on the right. --out
ending in .mp4, .mov or .mkv writes an H.264 movie (at the footage's frame rate, or --fps);
anything else is a folder of PNGs named frame_<scene frame>.png. Prints the output's path
and the mean PSNR of the renders against the footage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..engine.errors import SpectralSplatsError

HELP = "render a tracked result (asset + result.npz) to an mp4 or PNGs, beside the footage"
DEFAULT_FPS = 24.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--job", required=True, metavar="DIR",
                        help="the job folder (job.json, asset.ply, rig.npz)")
    parser.add_argument("--result", metavar="NPZ",
                        help="the result to render (default: the job's result.npz)")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="out.mp4 (or .mov, .mkv) for a movie, or a folder for PNGs")
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--side-by-side", dest="side_by_side", action="store_true",
                      default=True, help="footage on the left, render on the right (default)")
    side.add_argument("--no-side-by-side", dest="side_by_side", action="store_false",
                      help="the render alone")
    parser.add_argument("--resolution", type=int, metavar="PX",
                        help="longest side of the images (default: the job's resolution)")
    parser.add_argument("--fps", type=float,
                        help="frame rate of a movie (default: the footage's, else 24)")


class RenderCommandError(SpectralSplatsError, ValueError):
    """A result that does not fit the job it is rendered with."""


def check_result(result, loaded) -> None:
    frames = {frame.scene_frame for frame in loaded.job.frames}
    missing = [int(f) for f in result.frames if int(f) not in frames]
    if missing:
        raise RenderCommandError(f"the result holds scene frames {missing} that the job in "
                                 f"{loaded.folder} does not list; render it with its own job")
    if result.num_control_points != loaded.rig.num_control_points:
        raise RenderCommandError(f"the result moves {result.num_control_points} control "
                                 f"points but the job's rig has "
                                 f"{loaded.rig.num_control_points}; it was tracked with "
                                 "another rig: render it with its own job")
    if result.num_frames == 0:
        raise RenderCommandError("the result holds no frames (tracking stopped before the "
                                 "first frame finished); track again")


def render_frames(loaded, result, size: tuple[int, int], footage, side_by_side: bool):
    """Yields (scene frame, image [H, W(x2), 3], PSNR of the render against the footage)."""
    import torch

    from ..engine.conventions import Camera
    from ..engine.deform.skinning import pose_splats
    from ..engine.loss.metrics import psnr
    from ..engine.render.api import render
    from ..engine.worker.run_job import job_cameras

    cameras = dict(zip((f.scene_frame for f in loaded.job.frames), job_cameras(loaded, size)))
    backgrounds = {f.scene_frame: f.background for f in loaded.job.frames}
    splats = loaded.splats.to_torch(dtype=torch.float32)
    for i, scene_frame in enumerate(int(f) for f in result.frames):
        camera = cameras[scene_frame]
        # The object's transform applies after skinning: move the camera the other way.
        moved = Camera(camera.viewmat @ result.object_matrices[i].astype(np.float64),
                       camera.K, camera.width, camera.height, camera.near, camera.far)
        with torch.no_grad():
            out = render(pose_splats(splats, loaded.rig, result.rotations[i],
                                     result.translations[i]), moved,
                         background=list(backgrounds[scene_frame]))
        rendered = out.rgb.numpy()
        target = footage(scene_frame)[0]
        score = psnr(torch.as_tensor(rendered).permute(2, 0, 1),
                     torch.as_tensor(target).permute(2, 0, 1))
        yield scene_frame, (np.hstack([target, rendered]) if side_by_side else rendered), score


def footage_fps(loaded) -> float | None:
    """The frame rate of the first frame's movie; None for images."""
    from ..engine.video import open_frames

    first = loaded.job.frames[0].source
    if first.kind != "movie":
        return None
    with open_frames(loaded.resolve(first.path)) as frames:
        return frames.fps


MAX_FPS = 1000.0


def check_options(args) -> None:
    """RenderCommandError naming the option, before anything is read or written."""
    import math

    from ..engine.video.writer import is_movie_path

    if args.fps is not None and not (math.isfinite(args.fps) and 0 < args.fps <= MAX_FPS):
        raise RenderCommandError(f"--fps {args.fps}: give a frame rate above 0 and at most "
                                 f"{MAX_FPS:g}, e.g. 24")
    out = Path(args.out)
    if is_movie_path(out) and out.is_dir():
        raise RenderCommandError(f"--out {out}: a folder; name a movie file to write")
    if not is_movie_path(out) and out.exists() and not out.is_dir():
        raise RenderCommandError(f"--out {out}: an existing file, and a name without .mp4, "
                                 ".mov or .mkv means a folder of PNGs; name a movie or a "
                                 "folder")


def run(args) -> int:
    from ..engine.job import load_job
    from ..engine.result import ResultError, TrackResult
    from ..engine.worker.run_job import JobFootage
    from ..engine.video.writer import write_frames

    footage = None
    try:
        check_options(args)
        loaded = load_job(args.job)
        result = TrackResult.load(args.result or loaded.result_path)
        check_result(result, loaded)
        if args.resolution is not None and args.resolution < 16:
            raise RenderCommandError(f"--resolution {args.resolution}: give 16 pixels or more")
        footage = JobFootage(loaded, args.resolution or loaded.job.settings.resolution)
        fps = args.fps or footage_fps(loaded) or DEFAULT_FPS
        scores = []

        def images():
            for _, image, score in render_frames(loaded, result, footage.size, footage,
                                                 args.side_by_side):
                scores.append(score)
                yield image

        out = write_frames(args.out, images(), numbers=[int(f) for f in result.frames],
                           fps=fps)
    except (SpectralSplatsError, ResultError, RenderCommandError) as error:
        print(f"spectralsplats render: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the output cannot be written (permissions, disk full)
        reason = error.strerror or error
        print(f"spectralsplats render: --out {args.out}: cannot be written ({reason}); choose "
              "another place", file=sys.stderr)
        return 2
    finally:
        if footage is not None:
            footage.close()
    state = "" if result.complete else " (a partial result)"
    print(f"rendered {len(scores)} frames{state}, mean PSNR against the footage "
          f"{np.mean(scores):.2f} dB", file=sys.stderr)
    print(Path(out).resolve())
    return 0
