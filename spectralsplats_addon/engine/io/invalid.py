"""Splats no renderer can use: a NaN or Inf anywhere, or a quaternion of length below
MIN_QUATERNION_NORM (it has no direction to normalise to: 1e-30 squares to zero in float32).
Found with whole-array numpy, never a loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

NONFINITE = "nan_or_inf"
ZERO_QUATERNION = "zero_quaternion"
MIN_QUATERNION_NORM = 1e-12


@dataclass(frozen=True)
class InvalidSplats:
    """Which splats of a file are invalid, and why.

    mask:                 [N] bool, True where the splat is invalid
    nonfinite:            how many splats hold a NaN or an Inf
    nonfinite_properties: the file's names of the properties where those values are
    zero_quaternions:     how many splats have a quaternion of length below MIN_QUATERNION_NORM
    quaternion_label:     how the file names its quaternion (for messages)
    """

    mask: np.ndarray
    nonfinite: int
    nonfinite_properties: tuple[str, ...]
    zero_quaternions: int
    quaternion_label: str

    @property
    def count(self) -> int:
        return int(self.mask.sum())

    def reasons(self) -> dict[str, int]:
        """Reason -> number of splats; a splat with both faults counts under both."""
        found = {NONFINITE: self.nonfinite, ZERO_QUATERNION: self.zero_quaternions}
        return {reason: n for reason, n in found.items() if n}

    def describe(self) -> str:
        """'3 of 100 splats are invalid: 2 hold NaN or Inf values (in opacity), ...'"""
        parts = []
        if self.nonfinite:
            verb = "holds" if self.nonfinite == 1 else "hold"
            parts.append(f"{self.nonfinite} {verb} NaN or Inf values "
                         f"(in {', '.join(self.nonfinite_properties)})")
        if self.zero_quaternions:
            verb = "has" if self.zero_quaternions == 1 else "have"
            parts.append(f"{self.zero_quaternions} {verb} a zero-length quaternion "
                         f"({self.quaternion_label})")
        total = len(self.mask)
        return f"{self.count} of {total} splats are invalid: {'; '.join(parts)}"


def find_invalid(table: np.ndarray, names: Sequence[str], quats: np.ndarray,
                 quaternion_label: str) -> InvalidSplats:
    """table: [N, P] every value kept from the file, names: [P] their property names,
    quats: [N, 4]. A splat is invalid when any of its P values is not finite, or when
    its quaternion is exactly (0, 0, 0, 0)."""
    bad_values = ~np.isfinite(table)  # [N, P]
    nonfinite_rows = bad_values.any(axis=1)  # [N]
    bad_columns = np.flatnonzero(bad_values.any(axis=0))
    with np.errstate(over="ignore", invalid="ignore"):
        length = np.sqrt((np.asarray(quats, dtype=np.float64) ** 2).sum(axis=1))  # [N]
    zero_rows = length < MIN_QUATERNION_NORM  # NaN compares False: counted as NaN, not zero
    return InvalidSplats(
        mask=nonfinite_rows | zero_rows,
        nonfinite=int(nonfinite_rows.sum()),
        nonfinite_properties=tuple(names[j] for j in bad_columns),
        zero_quaternions=int(zero_rows.sum()),
        quaternion_label=quaternion_label,
    )
