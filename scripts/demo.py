"""The main job, end to end, as far as it exists: real splats into a real .blend.

    python scripts/demo.py [--ply PATH] [--out out]

Reads the real donut (../shared/data/real_splats/donut.ply), imports it into a new .blend
through the extension's import operator in real Blender (the bpy module), checks that every
splat arrived, rigs it with 512 control points (an armature whose Armature modifier moves
the splats), and saves out/donut.blend. Prints a progress line per step.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PLY = ROOT.parent / "shared" / "data" / "real_splats" / "donut.ply"


def step(index: int, total: int, message: str) -> None:
    print(f"[{index}/{total}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ply", type=Path, default=DEFAULT_PLY, help="splat file to import")
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="output folder")
    args = parser.parse_args(argv)
    if not args.ply.exists():
        print(f"error: {args.ply} does not exist: pass --ply PATH to a 3DGS .ply", file=sys.stderr)
        return 2
    total = 5
    started = time.perf_counter()

    step(1, total, "starting Blender (bpy module) and registering the extension")
    import bpy

    import spectralsplats_addon
    from spectralsplats_addon.blender.point_object import splats_from_object
    from spectralsplats_addon.engine.io import read_splats

    bpy.ops.wm.read_factory_settings(use_empty=True)
    spectralsplats_addon.register()

    step(2, total, f"importing {args.ply.name} with File > Import > Gaussian Splat")
    t0 = time.perf_counter()
    result = bpy.ops.spectralsplats.import_ply(filepath=str(args.ply))
    import_seconds = time.perf_counter() - t0
    if result != {"FINISHED"}:
        print(f"error: the import operator returned {result}", file=sys.stderr)
        return 1
    obj = bpy.context.view_layer.objects.active

    step(3, total, "checking the imported splats against the file")
    expected = read_splats(args.ply)
    got = splats_from_object(obj)
    if len(got) != len(expected) or not all(
            (getattr(got, f) == getattr(expected, f)).all()
            for f in ("means", "quats", "log_scales", "opacity_logits", "sh")):
        print("error: the imported splats differ from the file", file=sys.stderr)
        return 1

    step(4, total, "rigging it with 512 control points (Object > Rig Gaussian Splats)")
    t0 = time.perf_counter()
    if bpy.ops.spectralsplats.rig(control_points=512) != {"FINISHED"}:
        print("error: the rig operator failed", file=sys.stderr)
        return 1
    rig_seconds = time.perf_counter() - t0
    bones = len(obj.children[0].data.bones)

    step(5, total, "saving the .blend")
    args.out.mkdir(parents=True, exist_ok=True)
    blend = (args.out / "donut.blend").resolve()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    print(f"imported {len(got):,} splats (SH degree {got.sh_degree}) into {obj.name!r} "
          f"in {import_seconds:.2f} s; rigged with {bones} bones in {rig_seconds:.2f} s; saved {blend} "
          f"({time.perf_counter() - started:.1f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
