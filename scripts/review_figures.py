"""The figures of the user guide's "Judge and fix a track": a real track in Blender (the bpy
module, a real worker process), its fit preview and its per-frame fit on the timeline.

    python scripts/review_figures.py [--frames 8] [--iterations 12] [--out out/review]

Builds the synthetic shot of the Blender tests (tests/support/blender_scene.py: an asset
moved by a known motion, filmed at 48 x 48 px), tracks it with the Track operator, bakes
with Flag Below at the mean fit PSNR, then runs Preview Fit on the lowest frame. Writes
docs/figures/review-preview.png (the preview image, 4x, next to the plate) and
docs/figures/review-timeline.png (the object's spectralsplats_psnr keys and the timeline
markers, read back from Blender), and prints the per-frame PSNR and the flagged frames.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def preview_figure(preview: Path, plate, out: Path) -> None:
    import numpy as np
    from PIL import Image

    shown = Image.open(preview).convert("RGB")
    plate_image = Image.fromarray((np.clip(plate, 0, 1) * 255 + 0.5).astype("uint8"))
    size = (shown.width * 4, shown.height * 4)
    both = Image.new("RGB", (size[0] * 2 + 8, size[1]), "white")
    both.paste(plate_image.resize(size, Image.NEAREST), (0, 0))
    both.paste(shown.resize(size, Image.NEAREST), (size[0] + 8, 0))
    both.save(out)


def timeline_figure(keys, markers, threshold: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 2.6), dpi=100)
    ax.plot([f for f, _ in keys], [v for _, v in keys], "o-", label="spectralsplats_psnr keys")
    ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"Flag Below {threshold:.1f} dB")
    for frame, name in markers:
        ax.axvline(frame, color="tab:red", lw=1)
        ax.annotate(name, (frame, ax.get_ylim()[1]), rotation=90, va="top", ha="right",
                    fontsize=7, color="tab:red")
    ax.set_xlabel("scene frame")
    ax.set_ylabel("fit PSNR (dB)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def run(args) -> int:
    import bpy
    import numpy as np

    import spectralsplats_addon
    from spectralsplats_addon.blender.keyframes import fcurves_of
    from spectralsplats_addon.engine.result import TrackResult
    from support.blender_scene import make_shot

    work = Path(args.out).resolve()
    work.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    spectralsplats_addon.register()
    shot = make_shot(work, frames=args.frames, iterations=args.iterations)
    if bpy.ops.spectralsplats.track() != {"FINISHED"}:
        print("review_figures: the track failed", file=sys.stderr)
        return 1
    result_path = next((work / "out" / "asset").glob("frames_*/result.npz"))
    result = TrackResult.load(result_path)
    threshold = round(float(np.nanmean(result.psnr)), 1)
    bpy.context.scene.spectralsplats_track.flag_below = threshold
    bpy.ops.spectralsplats.bake(filepath=str(result_path))  # the same keys, flagged anew
    lowest = int(result.frames[int(np.nanargmin(result.psnr))])
    bpy.context.scene.frame_set(lowest)
    assert bpy.ops.spectralsplats.preview_fit() == {"FINISHED"}
    FIGURES.mkdir(exist_ok=True)
    preview_figure(result_path.parent / f"preview_{lowest}.png",
                   shot.targets[shot.frames.index(lowest)].numpy(),
                   FIGURES / "review-preview.png")
    curve = next(fc for fc in fcurves_of(shot.obj, "unused")
                 if fc.data_path == '["spectralsplats_psnr"]')
    keys = [(k.co[0], k.co[1]) for k in curve.keyframe_points]
    markers = sorted((m.frame, m.name) for m in bpy.context.scene.timeline_markers)
    timeline_figure(keys, markers, threshold, FIGURES / "review-timeline.png")
    print("frame  fit PSNR (dB)")
    for frame, value in keys:
        print(f"{int(frame):5d}  {value:.2f}")
    print(f"Flag Below {threshold:.2f} dB; markers: {markers}")
    print(f"preview of frame {lowest}: docs/figures/review-preview.png; timeline: "
          "docs/figures/review-timeline.png")
    spectralsplats_addon.unregister()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="review_figures.py", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "spectralsplats_review"))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
