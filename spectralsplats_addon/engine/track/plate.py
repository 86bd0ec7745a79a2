"""What the tracker compares with a plate: the render composited over the plate's background,
its colours through the appearance transform (docs/spectral.md, "Plates").

The renderer's colour over black is premultiplied, c = alpha * rgb. With a per-channel gain g
and offset o applied to the colours before compositing, over the background B:

    C = g * c + o * alpha + (1 - alpha) * B          (every term [H, W, 3])

B is a colour [3] (footage composited over it through a matte) or an image [H, W, 3] (a
clean plate or the clip's background estimate), area-averaged at a reduced level as the
target is (engine/loss/multires.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import LossInputError
from ..loss.multires import area_downsample


class Backdrop:
    """A background image [H, W, 3] and its area-averaged levels, built once and cached."""

    def __init__(self, image: torch.Tensor):
        if image.dim() != 3 or image.shape[-1] != 3:
            raise LossInputError(f"a background image is [H, W, 3], got shape "
                                 f"{tuple(image.shape)}")
        self._levels = {1: image}

    @property
    def image(self) -> torch.Tensor:
        """[H, W, 3] at full size."""
        return self._levels[1]

    def at_factor(self, factor: int) -> torch.Tensor:
        """[H/f, W/f, 3]: the image averaged over f x f blocks."""
        if factor not in self._levels:
            chw = area_downsample(self.image.permute(2, 0, 1), factor)
            self._levels[factor] = chw.permute(1, 2, 0).contiguous()
        return self._levels[factor]


@dataclass
class Plate:
    """One step's compositing: ``backdrop`` (None: the run's background colour) and the
    appearance transform ``gain`` [3], ``offset`` [3] (None: identity)."""

    backdrop: Backdrop | None = None
    gain: torch.Tensor | None = None
    offset: torch.Tensor | None = None

    def over(self, rgb: torch.Tensor, alpha: torch.Tensor, factor: int = 1,
             background=None) -> torch.Tensor:
        """rgb [h, w, 3] rendered over black, alpha [h, w] -> the composite [h, w, 3] (module
        docstring) at level ``factor``; ``background`` [3] where there is no backdrop."""
        colour = rgb if self.gain is None else rgb * self.gain
        if self.offset is not None:
            colour = colour + alpha[..., None] * self.offset
        if self.backdrop is not None:
            under = self.backdrop.at_factor(factor)
            if tuple(under.shape[:2]) != tuple(rgb.shape[:2]):
                raise LossInputError(f"the background image is {tuple(under.shape[:2])} "
                                     f"(H, W) but the render is {tuple(rgb.shape[:2])}: "
                                     "resize the background to the tracking size")
        elif background is not None:
            under = torch.as_tensor(background, dtype=rgb.dtype, device=rgb.device)
        else:
            return colour
        return colour + (1.0 - alpha)[..., None] * under


__all__ = ["Backdrop", "Plate"]
