"""What a format reader hands to the loader: the splats exactly as stored, and what is wrong
with any of them (the loader decides whether to refuse the file or drop those splats)."""

from __future__ import annotations

from dataclasses import dataclass

from ..splats import Splats
from .invalid import InvalidSplats


@dataclass(frozen=True)
class DecodedFile:
    splats: Splats  # every splat in the file, numpy float32, invalid ones included
    format: str  # "binary_little_endian", "binary_big_endian", "ascii" or "splat"
    invalid: InvalidSplats
    ignored_properties: tuple[str, ...] = ()  # stored in the file, not part of Splats
