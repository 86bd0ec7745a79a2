"""Times File > Import > Gaussian Splat on the real assets in real Blender (the bpy module).

    python scripts/bench_import.py [--repeats 5]

Prints the median import time per file (reading the .ply, building the point object with
every attribute, adding the display modifier) and the first evaluation of the display, and
writes them under "## Import (Blender)" in docs/benchmarks.md. Target: donut under 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_doc import machine_line, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real_splats"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import bpy

    import spectralsplats_addon

    spectralsplats_addon.register()
    rows = []
    for path in (REAL / "donut.ply", REAL / "lod3.ply"):
        times, evals = [], []
        for _ in range(args.repeats):
            bpy.ops.wm.read_factory_settings(use_empty=True)
            t0 = time.perf_counter()
            bpy.ops.spectralsplats.import_ply(filepath=str(path))
            times.append(time.perf_counter() - t0)
            obj = bpy.context.view_layer.objects.active
            t0 = time.perf_counter()
            depsgraph = bpy.context.evaluated_depsgraph_get()  # runs the Geometry Nodes display
            geometry = obj.evaluated_get(depsgraph).evaluated_geometry()
            points = len(geometry.pointcloud.points)
            evals.append(time.perf_counter() - t0)
            assert points == len(obj.data.vertices)
        n = len(obj.data.vertices)
        rows.append((path.name, n, statistics.median(times), statistics.median(evals)))
        print(f"{path.name}: {n:,} splats, import {rows[-1][2] * 1000:.0f} ms, "
              f"display evaluation {rows[-1][3] * 1000:.0f} ms (median of {args.repeats})")

    lines = [f"Measured with `python scripts/bench_import.py --repeats {args.repeats}` on "
             f"{machine_line()}; bpy {bpy.app.version_string}. Median of {args.repeats} runs.",
             "Target: the 45,624-splat donut imports in under 2 s. The operator's time includes "
             "reading the file, building the point object and Blender's update of the scene; "
             "reading the evaluated display geometry after it is the second column.", "",
             "| file | splats | import (operator) | evaluated display read after |",
             "| --- | ---: | ---: | ---: |"]
    lines += [f"| {name} | {n:,} | {t * 1000:.0f} ms | {e * 1000:.0f} ms |"
              for name, n, t, e in rows]
    write_section("Import (Blender)", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
