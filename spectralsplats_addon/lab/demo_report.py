"""The tracking report: a known motion, one or more tracked results, compared frame by frame.

    runs = [ReportRun("pixel", pixel_result, 95.0), ReportRun("spectral", spectral_result, 101.0)]
    page, scores = write_report("out", motion, runs)     # out/report.html, per-run scores

For every run and every frame f the report measures, against the true motion of ``motion``
(lab/examples.KnownMotion, whose rotations/translations are the truth):

    PSNR_f  = psnr(render(skinned by the run, train camera), render(skinned by the truth))
    e_f     = mean_k |(p_k + t_fk) - (p_k + t*_fk)| / size       (control-point error)

with size the bounding-box diagonal of the splat centres (engine/deform/pose.asset_size), and the
same PSNR from the novel camera. PNGs: for a few frames, one row of [start pose | target |
run 1 | run 2 ...] from the training camera; a plot of PSNR and control-point error per
frame. The HTML page holds the images, a table of the means and the seconds each run took.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..engine.deform.pose import asset_size
from ..engine.deform.skinning import pose_splats
from ..engine.errors import ConfigError
from ..engine.loss.metrics import psnr
from ..engine.render.api import render
from ..engine.result import TrackResult
from .examples import KnownMotion, render_clip
from .shift_eval import Truth
from .shift_eval import control_point_error as mean_control_point_error


@dataclass
class ReportRun:
    """A tracked result to report, its name (e.g. the loss) and the seconds it took."""

    name: str
    result: TrackResult
    seconds: float


@dataclass
class RunScores:
    """Per-frame scores of one run: [F] arrays."""

    psnr_train: np.ndarray
    psnr_novel: np.ndarray
    control_point_error: np.ndarray


def _image(motion: KnownMotion, rotations, translations, camera) -> torch.Tensor:
    """The asset skinned by one frame's motion seen by ``camera``: rgb [H, W, 3]."""
    with torch.no_grad():
        splats = pose_splats(motion.splats, motion.rig, rotations, translations)
        return render(splats, camera, background=motion.background).rgb


def _check(motion: KnownMotion, result: TrackResult, name: str) -> None:
    if list(result.frames) != list(motion.frames):
        raise ConfigError(f"run {name!r} tracked frames {list(result.frames)} but the motion has "
                          f"{list(motion.frames)}: report runs of the same clip")
    if result.rotations.shape[1] != motion.rig.num_control_points:
        raise ConfigError(f"run {name!r} has {result.rotations.shape[1]} control points, the "
                          f"rig {motion.rig.num_control_points}: track with this rig")


def control_point_error(motion: KnownMotion, result: TrackResult) -> np.ndarray:
    """e_f = mean_k |t_fk - t*_fk| / size, [F]: the control points' position error (module
    docstring), as a fraction of the asset size (lab/shift_eval.control_point_error per
    frame)."""
    size = asset_size(motion.splats.to_torch())
    return np.array([mean_control_point_error(result.translations[f:f + 1],
                                              motion.translations[f:f + 1], size)
                     for f in range(motion.num_frames)])


def _psnr_per_frame(renders, truths) -> np.ndarray:
    """PSNR of RGB renders against RGB truths, [(rgb [H, W, 3], alpha)] each -> [F]."""
    return np.array([psnr(rgb.permute(2, 0, 1), ref.permute(2, 0, 1))
                     for (rgb, _), (ref, _) in zip(renders, truths)])


def score_run(motion: KnownMotion, result: TrackResult, name: str = "run",
              truth: Truth | None = None) -> RunScores:
    """PSNR per frame from the training and the novel camera, and the control-point error;
    ``truth``: the true motion's renders (lab/shift_eval.Truth), made here if not given."""
    _check(motion, result, name)
    truth = truth or Truth(motion)
    tracked = dataclasses.replace(motion, rotations=result.rotations,
                                  translations=result.translations)
    return RunScores(_psnr_per_frame(render_clip(tracked, motion.train_camera), truth.train),
                     _psnr_per_frame(render_clip(tracked, motion.novel_camera), truth.novel),
                     control_point_error(motion, result))


def _png(image: np.ndarray, path: Path) -> str:
    from PIL import Image

    Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path.name


def _tile(images: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Images [H, W, 3] side by side with white gaps -> [H, n W + (n-1) gap, 3]."""
    h = images[0].shape[0]
    pieces = []
    for i, image in enumerate(images):
        if i:
            pieces.append(np.ones((h, gap, 3), np.float32))
        pieces.append(image)
    return np.concatenate(pieces, 1)


def _plot(runs: list[ReportRun], scores: list[RunScores], frames: list[int], path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_p, ax_e) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run, score in zip(runs, scores):
        ax_p.plot(frames, score.psnr_train, marker="o", ms=3, label=f"{run.name} (training view)")
        ax_p.plot(frames, score.psnr_novel, linestyle="--", label=f"{run.name} (novel view)")
        ax_e.plot(frames, 100 * score.control_point_error, marker="o", ms=3, label=run.name)
    ax_p.set_xlabel("frame")
    ax_p.set_ylabel("PSNR (dB)")
    ax_p.grid(alpha=0.3)
    ax_p.legend(fontsize=8)
    ax_e.set_xlabel("frame")
    ax_e.set_ylabel("control-point error (% of asset size)")
    ax_e.set_yscale("log")
    ax_e.grid(alpha=0.3)
    ax_e.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _mean(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    return "inf" if finite.size == 0 else f"{finite.mean():.2f}"


def write_report(folder, motion: KnownMotion, runs: list[ReportRun], *,
                 start_rotations: np.ndarray | None = None,     # [P, 4] the starting pose
                 start_translations: np.ndarray | None = None,  # [P, 3]
                 shown_frames: int = 4, title: str = "SpectralSplats tracking report",
                 notes: list[str] = ()) -> tuple[Path, list[RunScores]]:
    """Writes folder/report.html and its PNGs (module docstring); returns the page's path
    and each run's scores.

    The starting pose (default: rest) is what tracking began from; ``notes`` are lines of
    plain text printed under the title (how the clip was made, the settings, the machine).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    p = motion.rig.num_control_points
    start_rot = np.tile([1.0, 0, 0, 0], (p, 1)) if start_rotations is None else start_rotations
    start_trans = np.zeros((p, 3)) if start_translations is None else start_translations
    truth = Truth(motion)
    scores = [score_run(motion, run.result, run.name, truth) for run in runs]
    frames = list(motion.frames)

    start_image = _image(motion, start_rot, start_trans, motion.train_camera).numpy()
    picks = sorted(set(np.linspace(0, len(frames) - 1, min(shown_frames, len(frames)))
                       .round().astype(int).tolist()))
    rows = []
    for f in picks:
        target = truth.train[f][0]
        tracked = [_image(motion, run.result.rotations[f], run.result.translations[f],
                          motion.train_camera).numpy() for run in runs]
        name = _png(_tile([start_image, target.numpy(), *tracked]),
                    folder / f"frame_{frames[f]:04d}.png")
        cells = " ".join(f"{run.name} {s.psnr_train[f]:.1f} dB" for run, s in zip(runs, scores))
        rows.append(f'<figure><img src="{name}" alt="frame {frames[f]}">'
                    f"<figcaption>frame {frames[f]}: {html.escape(cells)}</figcaption></figure>")
    plot = _plot(runs, scores, frames, folder / "scores.png")

    table = ["<tr><th>run</th><th>PSNR training view (dB)</th><th>PSNR novel view (dB)</th>"
             "<th>control-point error (% of size)</th><th>seconds</th><th>seconds per frame</th>"
             "</tr>"]
    for run, s in zip(runs, scores):
        table.append(f"<tr><td>{html.escape(run.name)}</td><td>{_mean(s.psnr_train)}</td>"
                     f"<td>{_mean(s.psnr_novel)}</td>"
                     f"<td>{100 * s.control_point_error.mean():.2f}</td>"
                     f"<td>{run.seconds:.1f}</td><td>{run.seconds / len(frames):.2f}</td></tr>")
    per_frame = ["<tr><th>frame</th>" + "".join(
        f"<th>{html.escape(r.name)} PSNR</th><th>{html.escape(r.name)} error %</th>"
        for r in runs) + "</tr>"]
    for i, frame in enumerate(frames):
        per_frame.append(f"<tr><td>{frame}</td>" + "".join(
            f"<td>{s.psnr_train[i]:.2f}</td><td>{100 * s.control_point_error[i]:.2f}</td>"
            for s in scores) + "</tr>")
    columns = " | ".join(["starting pose", "target"] + [r.name for r in runs])
    page = "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}figure{margin:1em 0}img{image-rendering:pixelated;max-width:100%}"
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *[f"<p>{html.escape(line)}</p>" for line in notes],
        "<h2>Summary</h2>", "<table>", *table, "</table>",
        f"<h2>Frames</h2><p>Each row: {html.escape(columns)} (training camera).</p>", *rows,
        f'<h2>Per frame</h2><img src="{plot}" alt="PSNR and control-point error per frame">',
        "<table>", *per_frame, "</table>", "</body></html>"])
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path, scores


def summary_lines(runs: list[ReportRun], scores: list[RunScores]) -> list[str]:
    """One line per run: mean PSNR (training, novel), control-point error, seconds."""
    lines = []
    for run, s in zip(runs, scores):
        lines.append(f"{run.name}: PSNR {_mean(s.psnr_train)} dB (novel view "
                     f"{_mean(s.psnr_novel)} dB), control-point error "
                     f"{100 * s.control_point_error.mean():.2f} % of the size, "
                     f"{run.seconds:.1f} s")
    return lines


__all__ = ["ReportRun", "RunScores", "control_point_error", "score_run", "write_report",
           "summary_lines"]
