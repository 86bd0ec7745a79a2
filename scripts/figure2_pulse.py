"""Draws the paper's Figure 2 in 1D into docs/figures/figure2_pulse.png.

    python scripts/figure2_pulse.py [--out docs/figures/figure2_pulse.png] [--no-basin]

A Gaussian pulse (sigma 0.5) starts at mu = 6, its target at 0 (lab/pulse1d.py). Panels:
the two pulses; the loss landscapes over mu of plain L2, the single static frequency k = 5,
and the annealed spectral loss at a few alpha; the trajectories of mu under each loss with the
same Adam budget; and (unless --no-basin, about a minute on two cores) the final offset from
every start in (0, 12] for L2, k = 5, and both annealing expansions. Prints the final offsets.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from spectralsplats_addon.lab import pulse1d

ROOT = Path(__file__).resolve().parents[1]
COLOURS = {"l2": "tab:gray", "static_k5": "tab:red", "annealed": "tab:blue",
           "linear_frequency": "tab:green"}
LABELS = {"l2": "plain L2", "static_k5": "static k = 5", "annealed": "annealed spectral"}


def draw_pulses(ax) -> None:
    x = pulse1d.sample_points().numpy()
    for mu, label, style in ((pulse1d.TARGET, "target, mu* = 0", "k-"),
                             (pulse1d.START, f"start, mu = {pulse1d.START:g}", "k--")):
        ax.plot(x, pulse1d.pulse(torch.tensor(mu), pulse1d.sample_points())[0, 0].numpy(),
                style, label=label)
    ax.set(title=f"(a) signals: pulses of sigma {pulse1d.SIGMA:g}, no overlap", xlabel="x",
           ylabel="g(x - mu)")
    ax.legend(loc="upper left", fontsize=8)


def draw_landscapes(ax) -> None:
    mus = np.linspace(-14, 14, 561)
    curves = [("l2", None, LABELS["l2"], COLOURS["l2"], "-"),
              ("static_k5", None, LABELS["static_k5"], COLOURS["static_k5"], "-")]
    for alpha, style in ((1.0, "-"), (3.0, "--"), (7.0, ":")):
        curves.append(("annealed", alpha, f"annealed, alpha = {alpha:g}", COLOURS["annealed"],
                       style))
    for name, alpha, label, colour, style in curves:
        values = pulse1d.landscape(name, mus, alpha)
        ax.plot(mus, values / values.max(), color=colour, linestyle=style, label=label)
    period = pulse1d.static_period()
    ax.axvline(pulse1d.START, color="k", lw=0.8, ls="--")
    ax.axvline(period, color=COLOURS["static_k5"], lw=0.8, ls=":")
    ax.annotate("start", (pulse1d.START, 1.02), ha="right", fontsize=8)
    ax.annotate(f"false min. {period:g}", (period, 1.02), ha="left", fontsize=8,
                color=COLOURS["static_k5"])
    ax.set(title="(b) loss landscapes over mu (each scaled to max 1)", xlabel="mu",
           ylabel="loss / max", ylim=(-0.03, 1.12))
    ax.legend(loc="lower left", fontsize=7)


def draw_trajectories(ax) -> dict[str, float]:
    finals = {}
    for name in pulse1d.OBJECTIVES:
        run = pulse1d.optimise(name)
        finals[name] = run.final
        ax.plot(run.trajectory, color=COLOURS[name],
                label=f"{LABELS[name]}: final mu = {run.final:.3g}")
    ax.axhline(pulse1d.static_period(), color=COLOURS["static_k5"], lw=0.8, ls=":")
    ax.axhline(0.0, color="k", lw=0.8)
    steps = pulse1d.ANNEALING.iterations
    ax.axvspan(0, pulse1d.ANNEALING.warmup_steps, color="tab:blue", alpha=0.08,
               label="warm-up (lowest band only)")
    ax.set(title=f"(c) mu during optimisation (Adam, {steps} steps each)", xlabel="step",
           ylabel="mu", ylim=(-0.5, 7.5))
    ax.legend(loc="center right", fontsize=8)
    return finals


def draw_basin(ax) -> None:
    starts = np.arange(0.5, 12.01, 0.5)
    runs = [("l2", pulse1d.ANNEALING, LABELS["l2"], COLOURS["l2"], "o-", 4),
            ("static_k5", pulse1d.ANNEALING, LABELS["static_k5"], COLOURS["static_k5"], "o-", 4),
            ("annealed", pulse1d.ANNEALING, "annealed, linear_band", COLOURS["annealed"],
             "s-", 7),
            ("annealed", pulse1d.ANNEALING.replace(expansion="linear_frequency"),
             "annealed, linear_frequency", COLOURS["linear_frequency"], "^-", 4)]
    for name, annealing, label, colour, marker, size in runs:
        finals = pulse1d.final_offsets(name, starts, annealing)
        ax.plot(starts, np.abs(finals), marker, ms=size, color=colour, label=label)
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set(title="(d) final |mu| from each start, same budget (warm-up 20%)",
           xlabel="start mu (pulse edge of the domain at 16)", ylabel="final |mu| (symlog)")
    ax.legend(loc="upper left", fontsize=8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "figure2_pulse.png")
    parser.add_argument("--no-basin", action="store_true", help="skip panel (d)")
    args = parser.parse_args(argv)

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), constrained_layout=True)
    draw_pulses(axes[0, 0])
    draw_landscapes(axes[0, 1])
    finals = draw_trajectories(axes[1, 0])
    if args.no_basin:
        axes[1, 1].set_axis_off()
    else:
        draw_basin(axes[1, 1])
    fig.suptitle("Figure 2 in 1D: a pulse at mu = 6, its target at 0")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    for name, final in finals.items():
        print(f"{name:>10}: final mu = {final:.6g}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
