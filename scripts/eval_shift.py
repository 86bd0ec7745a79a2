"""The paper's shift-radius experiment on known-motion clips (Table 1, Figure 4).

    python scripts/eval_shift.py [--assets articulated donut] [--radii 0 0.5 1 1.5]
                                 [--directions 2] [--frames 24] [--size 64]
                                 [--models direct mlp] [--losses spectral pixel]
                                 [--preset fast] [--iterations N] [--seed 0]
                                 [--out out/shift_sequence] [--results docs/results.md]
                                 [--from-json FILE ...]

The same as `spectralsplats eval` (spectralsplats_addon/cli/eval.py), except that --results
defaults to docs/results.md: the tables go into its shift-sequence section and the figure to
docs/figures/shift_sequence.png; the records and the figure also go to --out.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spectralsplats_addon.cli.eval import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(results=ROOT / "docs" / "results.md"))
