"""Alpha from a separate matte source (a movie or a sequence) for a colour source.

Matte frame i gives the alpha of colour frame i. The matte's alpha channel is used where it
has one ("alpha"), else its Rec. 709 luminance ("luminance"; white = opaque); "auto" picks
alpha if the matte has it. A matte replaces any alpha the colour source has. Both sources
must have the same size and the same number of frames.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from ..errors import VideoError
from .compositing import luminance
from .frame import FrameImage
from .source import FrameSource

MatteChannel = Literal["auto", "alpha", "luminance"]


class MattedSource(FrameSource):
    def __init__(self, source: FrameSource, matte: FrameSource,
                 channel: MatteChannel = "auto"):
        self.source, self.matte = source, matte
        self.path = source.path
        if channel not in ("auto", "alpha", "luminance"):
            raise VideoError(matte.path, f"matte channel {channel!r} is not one of auto, "
                                         "alpha, luminance", "pick one of those")
        if channel == "alpha" and not matte.has_alpha:
            raise VideoError(matte.path, "the matte has no alpha channel",
                             "use matte_channel='luminance' for a black-and-white matte")
        self.channel = "alpha" if channel == "auto" and matte.has_alpha else \
            ("luminance" if channel == "auto" else channel)
        if matte.size != source.size:
            raise VideoError(matte.path, f"the matte is {matte.size[0]} x {matte.size[1]} but "
                                         f"the footage {source.path} is {source.size[0]} x "
                                         f"{source.size[1]}",
                             "render the matte at the footage's resolution")
        if len(matte) != len(source):
            raise VideoError(matte.path, f"the matte has {len(matte)} frames but the footage "
                                         f"{source.path} has {len(source)}",
                             "give a matte with one frame for each frame of the footage")

    def __len__(self) -> int:
        return len(self.source)

    @property
    def size(self) -> tuple[int, int]:
        return self.source.size

    @property
    def fps(self) -> float | None:
        return self.source.fps

    @property
    def has_alpha(self) -> bool:
        return True

    def _read(self, index: int) -> FrameImage:
        frame = self.source.read(index)
        matte = self.matte.read(index)
        alpha = matte.alpha if self.channel == "alpha" else luminance(matte.rgb)
        return replace(frame, alpha=alpha)

    def close(self) -> None:
        self.source.close()
        self.matte.close()
