"""Track a splat object against footage without the UI, then save the .blend.

Inside Blender (arguments after ``--``):

    blender -b scene.blend --python scripts/headless_track.py -- --object donut \
        --video plate.mp4 --frames 1-48 --out tracked.blend

With the bpy module (``pip install bpy``), from any Python 3.11:

    python scripts/headless_track.py --blend scene.blend --ply donut.ply --video plate.mp4 \
        --control-points 64 --preset fast --out tracked.blend

Steps: open --blend (plain Python only; Blender opens its own file), import --ply unless
--object names an existing splat object, rig it (when it has no rig, or --control-points is
given), add a movie or image strip for --video (or use --strip), track through the
Track operator (which runs the worker to the end and prints progress lines), bake, and save
to --out. The add-on is registered from this source tree when Blender has not enabled it.
Exit status 0 on success, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

import bpy

ROOT = Path(__file__).resolve().parents[1]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".bmp", ".webp"}


class HeadlessError(Exception):
    """What went wrong, in words for the person who ran the script."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="headless_track.py", description=__doc__.split("\n")[0])
    parser.add_argument("--blend", help="open this .blend first (plain Python; Blender opens "
                                        "its own)")
    parser.add_argument("--ply", help="splat file to import when --object is absent")
    parser.add_argument("--object", help="splat object to track (default: the imported one, or "
                                         "the Track panel's / the active one)")
    parser.add_argument("--video", help="movie file or image (folder) to add as a strip")
    parser.add_argument("--strip", help="existing movie or image strip to track against")
    parser.add_argument("--camera", help="camera object (default: the scene camera)")
    parser.add_argument("--frames", help="scene frames A-B (default: the strip's range)")
    parser.add_argument("--model", choices=("direct", "mlp", "rigid"))
    parser.add_argument("--loss", choices=("spectral", "pixel"))
    parser.add_argument("--preset", choices=("robust", "fast"))
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--control-points", type=int, help="rig with this many bones (rigs "
                                                           "again if already rigged)")
    parser.add_argument("--iterations", type=int, help="optimisation steps per frame")
    parser.add_argument("--resolution", type=int, help="longest side tracked at (0: footage's)")
    parser.add_argument("--output-dir", help="folder for the job and its result")
    parser.add_argument("--no-bake", action="store_true", help="track only; keep result.npz")
    parser.add_argument("--out", required=True, help="save the .blend here")
    return parser.parse_args(argv)


def script_args() -> list[str]:
    """Arguments after '--' inside Blender; all of them in plain Python."""
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def ensure_registered() -> None:
    """Registers the add-on from this source tree unless Blender has it enabled."""
    if hasattr(bpy.types, "SPECTRALSPLATS_OT_track"):
        return
    sys.path.insert(0, str(ROOT))
    import spectralsplats_addon

    spectralsplats_addon.register()


def addon_module(name: str):
    """A module of the registered add-on (``blender.armature_rig`` ...), whatever its package
    is called: ``spectralsplats_addon`` from source, ``bl_ext.<repo>.spectralsplats`` installed."""
    package = bpy.types.SPECTRALSPLATS_OT_track.__module__.rsplit(".", 2)[0]
    return importlib.import_module(f"{package}.{name}")


def frame_range(text: str) -> tuple[int, int]:
    try:
        first, last = (int(v) for v in text.split("-"))
    except ValueError:
        raise HeadlessError(f"--frames {text!r}: expected A-B, e.g. 1-48") from None
    return first, last


def splat_object(args):
    """The object to track: --object, else the imported --ply, else the panel's or active."""
    is_splat_object = addon_module("blender.point_object").is_splat_object
    obj = bpy.data.objects.get(args.object) if args.object else None
    if obj is None and args.ply:
        if bpy.ops.spectralsplats.import_ply(filepath=os.path.abspath(args.ply)) != {"FINISHED"}:
            raise HeadlessError(f"could not import {args.ply}")
        obj = bpy.context.view_layer.objects.active
        if args.object:
            obj.name = args.object
    if obj is None and args.object:
        raise HeadlessError(f"there is no object named {args.object!r}: check the name, or give "
                            "--ply to import the splats")
    obj = obj or bpy.context.scene.spectralsplats_track.target \
        or bpy.context.view_layer.objects.active
    if not is_splat_object(obj):
        raise HeadlessError("no splat object to track: give --ply FILE, or --object NAME of an "
                            "imported splat object")
    return obj


def add_strip(scene, path: str, first: int):
    """A movie strip, or an image strip of a file or of every image in a folder."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = addon_module("blender.compat").top_strips(editor)
    path = os.path.abspath(path)
    name = Path(path).stem or "footage"
    if os.path.isdir(path):
        images = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise HeadlessError(f"--video {path}: the folder holds no images")
        strip = strips.new_image(name, str(images[0]), channel=1, frame_start=first)
        for image in images[1:]:
            strip.elements.append(image.name)
        return strip
    if not os.path.isfile(path):
        raise HeadlessError(f"--video {path}: no such file")
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        return strips.new_image(name, path, channel=1, frame_start=first)
    return strips.new_movie(name, path, channel=1, frame_start=first)


def configure(args, obj) -> None:
    """Fills the Track panel's settings from the arguments."""
    scene = bpy.context.scene
    settings = scene.spectralsplats_track
    settings.target = obj
    first_last = frame_range(args.frames) if args.frames else None
    if args.video:
        settings.strip = add_strip(scene, args.video, first_last[0] if first_last else 1).name
    elif args.strip:
        settings.strip = args.strip
    if args.camera:
        camera = bpy.data.objects.get(args.camera)
        if camera is None or camera.type != "CAMERA":
            raise HeadlessError(f"there is no camera object named {args.camera!r}")
        settings.camera = camera
    if first_last:
        settings.use_strip_range = False
        settings.frame_start, settings.frame_end = first_last
    for name in ("model", "loss", "preset", "device", "iterations", "resolution"):
        if getattr(args, name) is not None:
            setattr(settings, name, getattr(args, name))
    if args.output_dir:
        settings.output_dir = os.path.abspath(args.output_dir)
    settings.bake = not args.no_bake


def rig(args, obj) -> None:
    find_rig = addon_module("blender.armature_rig").find_rig
    if args.control_points is None and (find_rig(obj) is not None or args.model == "rigid"):
        return  # already rigged, or the rigid model, which moves the object itself
    bpy.context.view_layer.objects.active = obj
    count = args.control_points if args.control_points is not None else 512
    if bpy.ops.spectralsplats.rig(control_points=count) != {"FINISHED"}:
        raise HeadlessError(f"could not rig {obj.name!r}")


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.blend:
            bpy.ops.wm.open_mainfile(filepath=os.path.abspath(args.blend))
        ensure_registered()
        obj = splat_object(args)
        rig(args, obj)
        configure(args, obj)
        if bpy.ops.spectralsplats.track() != {"FINISHED"}:
            raise HeadlessError("tracking did not finish (see the messages above)")
        bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(args.out))
    except (HeadlessError, RuntimeError) as error:
        print(f"headless_track: {error}", file=sys.stderr, flush=True)
        return 1
    print(f"headless_track: saved {os.path.abspath(args.out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(script_args()))
