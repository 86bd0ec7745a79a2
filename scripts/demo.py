"""The main job, end to end: track the real donut from a start with no overlap, in Blender.

    python scripts/demo.py [--ply PATH] [--frames 8] [--size 128] [--out out]

1. imports the real donut (../shared/data/real_splats/donut.ply) into a new .blend through
   the extension's import operator (real Blender: the bpy module) and rigs it with 512
   control points;
2. makes a target clip of it: a known non-rigid motion (lab/examples "donut": bend, twist,
   squash, drift) moved sideways in the camera's image plane so that the first frame shares
   no pixel with the starting pose; writes it as an H.264 movie and adds it to the Video
   Sequencer, with a camera that sees both;
3. tracks the strip through the Track operator (a real worker process) with pixel-only
   supervision, then with spectral supervision, and bakes the spectral result onto the bones;
4. saves out/demo.blend and writes out/report.html: starting pose, target, pixel-only and
   spectral results side by side, PSNR and control-point error per frame, the time taken.

Prints a progress line throughout. Exit status 0, or 1 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PLY = ROOT.parent / "shared" / "data" / "real_splats" / "donut.ply"
STEPS = 8
START_SHIFT_FOOTPRINTS = 1.3   # the clip's sideways offset from the starting pose


def step(index: int, message: str) -> None:
    print(f"[{index}/{STEPS}] {message}", flush=True)


class DemoError(Exception):
    """What went wrong, in words for the person who ran the demo."""


def shifted_motion(motion, size: int):
    """The known motion moved sideways in the training view's image plane by
    START_SHIFT_FOOTPRINTS of the asset's footprint, with cameras that frame the starting
    (rest) pose and the whole moved clip. -> (motion, start overlap)."""
    import dataclasses

    import numpy as np

    from spectralsplats_addon.engine.conventions import camera_from_blender
    from spectralsplats_addon.lab.examples import (NOVEL_VIEW, TRAIN_VIEW, framing_blender_camera,
                                                   swept_points)
    from spectralsplats_addon.engine.deform.skinning import pose_splats
    from spectralsplats_addon.engine.render.api import render
    from spectralsplats_addon.lab.shift_experiment import (image_footprint, image_plane_shift,
                                                              mask_overlap)

    rest = motion.splats.to_torch()
    start_alpha = render(rest, motion.train_camera).alpha
    centre = rest.means.double().mean(0).numpy()
    pixels = START_SHIFT_FOOTPRINTS * image_footprint(start_alpha)
    offset = image_plane_shift(motion.train_camera, centre, (pixels, 0.0)).astype(np.float32)
    translations = motion.translations + offset
    swept = np.concatenate([rest.means.numpy(),
                            swept_points(rest, motion.rig, motion.rotations, translations)])
    train = framing_blender_camera(swept, size, TRAIN_VIEW)
    novel = framing_blender_camera(swept, size, NOVEL_VIEW)
    moved = dataclasses.replace(motion, translations=translations,
                                train_camera=camera_from_blender(train),
                                novel_camera=camera_from_blender(novel),
                                train_blender_camera=train, novel_blender_camera=novel)
    first = pose_splats(rest, moved.rig, moved.rotations[0], moved.translations[0])
    overlap = mask_overlap(render(rest, moved.train_camera).alpha,
                           render(first, moved.train_camera).alpha)
    return moved, overlap


def add_camera(bpy, blender_camera, obj):
    """A camera object showing what ``blender_camera`` (given in the splats' own frame) shows,
    with the point object where it is: matrix_world = object's matrix_world @ camera's."""
    from mathutils import Matrix

    data = bpy.data.cameras.new("Plate Camera")
    data.lens = blender_camera.lens
    data.sensor_width = blender_camera.sensor_width
    data.sensor_height = blender_camera.sensor_height
    data.sensor_fit = blender_camera.sensor_fit
    data.clip_start, data.clip_end = blender_camera.clip_start, blender_camera.clip_end
    camera = bpy.data.objects.new("Plate Camera", data)
    bpy.context.scene.collection.objects.link(camera)
    camera.matrix_world = obj.matrix_world @ Matrix(blender_camera.matrix_world)
    return camera


def track(bpy, settings, loss: str, out: Path, bake: bool) -> float:
    """Runs the Track operator (background mode: to the end, printing progress lines)."""
    settings.loss, settings.output_dir, settings.bake = loss, str(out), bake
    started = time.perf_counter()
    if bpy.ops.spectralsplats.track() != {"FINISHED"}:
        raise DemoError(f"tracking with the {loss} loss did not finish (see the messages above)")
    return time.perf_counter() - started


def run(args) -> int:
    started = time.perf_counter()
    step(1, "starting Blender (bpy module) and registering the extension")
    import bpy

    import spectralsplats_addon
    from spectralsplats_addon.blender.job_from_scene import job_folder_name
    from spectralsplats_addon.blender.compat import top_strips
    from spectralsplats_addon.lab.demo_report import ReportRun, summary_lines, write_report
    from spectralsplats_addon.lab.examples import known_motion, render_clip, write_clip
    from spectralsplats_addon.engine.result import TrackResult

    bpy.ops.wm.read_factory_settings(use_empty=True)
    spectralsplats_addon.register()
    scene = bpy.context.scene
    out = args.out.resolve()
    work = out / "demo"
    work.mkdir(parents=True, exist_ok=True)

    step(2, f"importing {args.ply.name} (File > Import > Gaussian Splat) and rigging it "
            f"with {args.control_points} control points")
    if bpy.ops.spectralsplats.import_ply(filepath=str(args.ply)) != {"FINISHED"}:
        raise DemoError(f"the import operator could not read {args.ply}")
    obj = bpy.context.view_layer.objects.active
    if bpy.ops.spectralsplats.rig(control_points=args.control_points) != {"FINISHED"}:
        raise DemoError("the rig operator failed")

    step(3, f"making the target: {args.frames} frames of a known non-rigid motion at "
            f"{args.size} px, moved {START_SHIFT_FOOTPRINTS} footprints off the start")
    motion = known_motion("donut", num_frames=args.frames, size=args.size,
                          num_control_points=args.control_points, path=args.ply)
    motion, overlap = shifted_motion(motion, args.size)
    if overlap > 0:
        raise DemoError(f"the first target frame overlaps the starting pose ({overlap:.0%})")
    movie = write_clip(render_clip(motion, motion.train_camera), work / "target.mp4")

    step(4, "adding the clip to the Video Sequencer and a camera that filmed it")
    scene.render.resolution_x = scene.render.resolution_y = args.size
    scene.render.resolution_percentage = 100
    scene.frame_start, scene.frame_end = 1, args.frames
    scene.camera = add_camera(bpy, motion.train_blender_camera, obj)
    editor = scene.sequence_editor_create()
    strip = top_strips(editor).new_movie("target", str(movie), channel=1, frame_start=1)
    settings = scene.spectralsplats_track
    settings.target, settings.strip, settings.camera = obj, strip.name, scene.camera
    settings.model, settings.preset, settings.device = "direct", args.preset, "auto"

    step(5, "tracking with pixel-only supervision (Track operator, worker process)")
    pixel_seconds = track(bpy, settings, "pixel", work / "pixel", bake=False)
    step(6, "tracking with spectral supervision, and baking the result onto the bones")
    spectral_seconds = track(bpy, settings, "spectral", work / "spectral", bake=True)

    step(7, "saving out/demo.blend")
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "demo.blend"))

    step(8, "scoring both runs against the known motion and writing out/report.html")
    folder = job_folder_name(obj)
    runs = [ReportRun(loss, TrackResult.load(work / loss / folder / "result.npz"), seconds)
            for loss, seconds in (("pixel", pixel_seconds), ("spectral", spectral_seconds))]
    notes = [f"The real donut ({len(motion.splats):,} splats, {motion.rig.num_control_points} "
             f"control points), a known non-rigid motion over {args.frames} frames at "
             f"{args.size} x {args.size} px, moved {START_SHIFT_FOOTPRINTS} footprints sideways "
             f"so that the first frame shares no pixel with the starting pose.",
             f"Tracked in Blender through the Track operator and a worker process: direct "
             f"model, '{args.preset}' preset; the spectral result is baked onto the bones of "
             f"demo.blend.",
             f"Whole demo: {time.perf_counter() - started:.0f} s."]
    page, scores = write_report(out, motion, runs, notes=notes)
    for line in summary_lines(runs, scores):
        print(line, flush=True)
    print(f"saved {out / 'demo.blend'}; report {page} ({time.perf_counter() - started:.0f} s "
          f"in all)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ply", type=Path, default=DEFAULT_PLY, help="the donut .ply")
    parser.add_argument("--frames", type=int, default=8, help="frames in the target clip")
    parser.add_argument("--size", type=int, default=128, help="clip side in pixels (even)")
    parser.add_argument("--control-points", type=int, default=512)
    parser.add_argument("--preset", choices=("fast", "robust"), default="fast")
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="output folder")
    args = parser.parse_args(argv)
    if not args.ply.exists():
        print(f"error: {args.ply} does not exist: pass --ply PATH to the donut .ply (or another "
              "3DGS .ply)", file=sys.stderr)
        return 1
    try:
        return run(args)
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
