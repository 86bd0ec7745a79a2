"""The plates experiment (spectralsplats_addon/lab/plates.py): known-motion clips in a photograph.

    python scripts/eval_plates.py [--quick] [--out out/plates] [--figure docs/figures/plates.png]
        [--assets donut] [--conditions locked:same panning:changed] [--knowledge matte raw]
        [--directions 1] [--append]
    python scripts/eval_plates.py --report [--out out/plates] [--figure ...]

Prints one line per run (asset, camera, lighting, what the tracker is told, start, loss:
control-point error in % of the asset size and PSNR of the tracked motion), then the issue's
targets with PASS / FAIL, and writes the records (records.json) in --out (--append adds them
to the records already there, and the targets and figure cover all). --figure draws the
no-overlap errors by knowledge and loss. --quick is the size a test runs (one clip, two runs).
--report tracks nothing: it prints the records in --out as a markdown table (mean over the
starts of each kind), the targets, and draws the figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from spectralsplats_addon.lab.plates import (KNOWLEDGE, PlateRun, auto_choice, run_plates,
                                             table_rows, targets_met)

ROOT = Path(__file__).resolve().parents[1]


def line(record: dict) -> str:
    return (f"{record['asset']:11s} {record['camera']:7s} {record['lighting']:7s} "
            f"{record['knowledge']:12s} {record['start']:10s} {record['loss']:8s} "
            f"error {100 * record['cp_error']:6.1f} %  PSNR {record['psnr']:5.1f} dB  "
            f"gain {' '.join(f'{g:.2f}' for g in record['gain'])}  "
            f"{record['seconds']:.0f} s")


def markdown(records: list[dict]) -> str:
    """One row per asset, camera, lighting, knowledge and start: spectral and pixel error (%)
    and PSNR (dB), means over the runs."""
    keys = list(dict.fromkeys((r["asset"], r["camera"], r["lighting"], r["knowledge"],
                               r["start"]) for r in records))
    lines = ["| asset | camera | lighting | told | start | spectral error | pixel error | "
             "spectral PSNR | pixel PSNR |", "|---|---|---|---|---|---:|---:|---:|---:|"]
    for key in keys:
        cells = []
        for field, scale, unit in (("cp_error", 100, " %"), ("psnr", 1, " dB")):
            for loss in ("spectral", "pixel"):
                values = [scale * r[field] for r in records if r["loss"] == loss and
                          (r["asset"], r["camera"], r["lighting"], r["knowledge"],
                           r["start"]) == key]
                cells.append(f"{np.mean(values):.1f}{unit}" if values else "")
        lines.append("| " + " | ".join([*key, *cells]).replace("_", " ") + " |")
    return "\n".join(lines)


def draw(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    far = [r for r in records if r["start"] == "no_overlap"]
    conditions = sorted({(r["asset"], r["camera"], r["lighting"]) for r in far})
    knowledge = list(dict.fromkeys(r["knowledge"] for r in far))
    fig, axes = plt.subplots(1, len(conditions), figsize=(3.2 * len(conditions), 3.2),
                             sharey=True, squeeze=False)
    for ax, (asset, camera, lighting) in zip(axes[0], conditions):
        for shift, (loss, colour) in enumerate((("spectral", "tab:blue"),
                                                ("pixel", "tab:gray"))):
            values = [[100 * r["cp_error"] for r in far if (r["asset"], r["camera"],
                       r["lighting"], r["knowledge"], r["loss"]) == (asset, camera, lighting,
                                                                    k, loss)]
                      for k in knowledge]
            x = np.arange(len(knowledge)) + (shift - 0.5) * 0.38
            ax.bar(x, [np.mean(v) if v else np.nan for v in values], 0.36, color=colour,
                   label=loss)
        ax.axhline(3.0, color="k", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xticks(range(len(knowledge)), [k.replace("_", "\n") for k in knowledge],
                      fontsize=7)
        ax.set_title(f"{asset}, {camera}, lighting {lighting}", fontsize=8)
    axes[0][0].set_ylabel("control-point error, % of size (no-overlap starts)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one clip, two runs (a test)")
    parser.add_argument("--assets", nargs="+", choices=("donut", "articulated"))
    parser.add_argument("--conditions", nargs="+", metavar="CAMERA:LIGHTING",
                        help="e.g. locked:same locked:changed panning:changed")
    parser.add_argument("--knowledge", nargs="+", choices=KNOWLEDGE)
    parser.add_argument("--directions", type=int, help="no-overlap starts per clip")
    parser.add_argument("--photo", metavar="NAME",
                        help="another photograph of matplotlib's sample data, held out from "
                             "tuning (default grace_hopper.jpg)")
    parser.add_argument("--append", action="store_true",
                        help="add to the records already in --out")
    parser.add_argument("--report", action="store_true",
                        help="track nothing: the table, targets and figure of --out's records")
    parser.add_argument("--out", default="out/plates", help="folder for records.json")
    parser.add_argument("--figure", help="PNG of the no-overlap errors")
    args = parser.parse_args(argv)
    run = PlateRun.quick() if args.quick else PlateRun()
    changes = {"assets": tuple(args.assets or ()), "knowledge": tuple(args.knowledge or ()),
               "conditions": tuple(tuple(c.split(":")) for c in args.conditions or ()),
               "directions": args.directions, "photo": args.photo}
    run = dataclasses.replace(run, **{k: v for k, v in changes.items() if v})
    out = Path(args.out)
    if args.report:
        saved = json.loads((out / "records.json").read_text())
        records = saved["records"]
        auto_choice(records, PlateRun(**{k: tuple(map(tuple, v)) if k == "conditions" else
                                         tuple(v) if isinstance(v, list) else v
                                         for k, v in saved["run"].items()}))
        print(markdown(records))
        return report(records, args.figure)
    old = json.loads((out / "records.json").read_text())["records"] \
        if args.append and (out / "records.json").is_file() else []
    records = old + run_plates(run, callback=lambda r: print(line(r), flush=True))
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "records.json.partial"
    partial.write_text(json.dumps({"run": dataclasses.asdict(run), "records": records,
                                   "rows": table_rows(records)}, indent=1))
    partial.replace(out / "records.json")
    return report(records, args.figure)


def report(records: list[dict], figure: str | None) -> int:
    print("targets:")
    for target, met, figures in targets_met(records):
        state = "not measured" if met is None else ("PASS" if met else "FAIL")
        print(f"  {state:12s} {target}: {figures}")
    if figure:
        draw(records, Path(figure))
        print(f"figure: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
