"""Spectral moments of images, log-radial frequency bands, and the spectral moment loss.

Moments. For an image I [C, H, W] with pixel indices p = (y, x) and an integer frequency
k = (k_y, k_x) in cycles per image, counted per side (k_y cycles over the height, k_x over the
width: the image is mapped to the unit square whatever its aspect),

    M(k; I) = 1/(H W) * sum_p I(p) exp(-j w_k . p),    w_k = 2 pi (k_y / H, k_x / W),

all k at once by ``torch.fft.rfft2(norm="forward")``. Dividing by H W makes M the mean of
I(p) exp(-j w_k . p): a Riemann sum of the continuous Fourier coefficient of the image over
the unit square. The same scene rendered at any resolution has the same moments for |k|
well below Nyquist, up to the phase exp(j pi (k_y / H + k_x / W)) that pixel centres at +0.5
add; render and target share it, so the loss does not see it.

Shift theorem: translating the image content by s pixels multiplies M(k) by exp(-j w_k . s).
A low k gives every displacement up to half a period a gradient toward the target, whether or
not render and target overlap; a high k alone is periodic and has false minima a period away.

Bands. The radius r = sqrt(k_y^2 + k_x^2) (cycles per image) sorts frequencies into bands:
band j = 0 .. B-1 holds r in [2^j, 2^(j+1)) (the issue's band b = j + 1 holds
[2^(b-1), 2^b)). DC (r = 0, the mean colour) is in no band: it carries no position, and it
is weighted apart by ``dc_weight`` (default 0). Radii from 2^B up are unsupervised.

Half spectrum. rfft2 stores the columns k_x = 0 .. W//2. For a real image
M(-k) = conj M(k), so a stored column 0 < k_x < W/2 stands for two frequencies of the full
spectrum with the same |M|, while column 0 and, for even W, the Nyquist column W/2 stand for
one. Each stored entry is weighted by that multiplicity, so a band mean is the mean over the
full fft2 spectrum.

Loss. With D(k) = M(k; render) - M(k; target) = M(k; render - target) (one FFT, by linearity),

    L_j  = mean over the frequencies k of band j, the channels and the batch of |D(k)|^2
    loss = sum_j w_j L_j  +  dc_weight * mean over channels and batch of |D(0)|^2.

Channels: RGB; when the target has alpha, the caller appends it as a fourth channel to both
render and target (and it counts like one colour channel). Empty bands (past the image's
Nyquist radius) contribute 0.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from ..errors import LossInputError


def spectral_moments(images: torch.Tensor) -> torch.Tensor:
    """M(k) = mean_p I(p) exp(-j w_k . p) for all stored k.

    images: [..., C, H, W] real  ->  complex [..., C, H, W//2+1]; row i is k_y = fftfreq(H)[i]*H,
    column i is k_x = i.
    """
    if images.dim() < 2:
        raise LossInputError(f"spectral moments need images [..., H, W], got shape "
                             f"{tuple(images.shape)}")
    return torch.fft.rfft2(images, norm="forward")


def frequency_radii(height: int, width: int) -> torch.Tensor:
    """Squared radius r^2 = k_y^2 + k_x^2, integers, of every stored rfft2 entry.  # [H, W//2+1]"""
    ky = torch.fft.fftfreq(height, d=1.0 / height).round().long()  # [H]
    kx = torch.fft.rfftfreq(width, d=1.0 / width).round().long()  # [W//2+1]
    return ky[:, None] ** 2 + kx[None, :] ** 2


def frequency_bands(height: int, width: int, num_bands: int) -> torch.Tensor:
    """Band index of every stored rfft2 entry: j where 2^j <= r < 2^(j+1), -1 for DC and for
    r >= 2^num_bands. Integer comparisons of r^2 with 4^j, so powers of 2 fall exactly.

    -> int64 [H, W//2+1]
    """
    if num_bands < 1:
        raise LossInputError(f"num_bands must be at least 1, got {num_bands}")
    r2 = frequency_radii(height, width)
    bands = torch.full_like(r2, -1)
    for j in range(num_bands):
        bands[(r2 >= 4 ** j) & (r2 < 4 ** (j + 1))] = j
    return bands


def column_multiplicity(width: int) -> torch.Tensor:
    """How many full-spectrum frequencies each stored column stands for: 1 for k_x = 0 and
    (even W) k_x = W/2, else 2.  # [W//2+1]"""
    mult = torch.full((width // 2 + 1,), 2, dtype=torch.int64)
    mult[0] = 1
    if width % 2 == 0:
        mult[-1] = 1
    return mult


@lru_cache(maxsize=32)
def _band_layout(height: int, width: int, num_bands: int, device: torch.device,
                 dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(flat slot [H*(W//2+1)]: band, or num_bands for none; flat multiplicity [H*(W//2+1)];
    frequencies per band [num_bands], counted over the full spectrum)."""
    bands = frequency_bands(height, width, num_bands)
    slot = torch.where(bands < 0, num_bands, bands).flatten()
    mult = column_multiplicity(width).expand(height, -1).flatten()
    counts = torch.zeros(num_bands + 1, dtype=torch.int64).index_add_(0, slot, mult)[:num_bands]
    return (slot.to(device), mult.to(device=device, dtype=dtype),
            counts.to(device=device, dtype=dtype))


def _check_pair(render: torch.Tensor, target: torch.Tensor) -> None:
    if render.shape != target.shape:
        raise LossInputError(f"render {tuple(render.shape)} and target {tuple(target.shape)} "
                             "must have the same shape [C, H, W] or [B, C, H, W]; resize or "
                             "crop the target to the render")
    if render.dim() not in (3, 4):
        raise LossInputError(f"expected images [C, H, W] or [B, C, H, W], got shape "
                             f"{tuple(render.shape)}; images at the API edge are [H, W, C]: "
                             "permute them to [C, H, W]")


def band_losses(render: torch.Tensor, target: torch.Tensor, num_bands: int) -> torch.Tensor:
    """L_j = mean over band j's frequencies (full spectrum), channels and batch of |D(k)|^2.

    render, target: [C, H, W] or [B, C, H, W]  ->  [num_bands] (0 for an empty band)
    """
    _check_pair(render, target)
    power = _power(render, target)
    height, width = render.shape[-2:]
    slot, mult, counts = _band_layout(height, width, num_bands, power.device, power.dtype)
    sums = power.new_zeros(num_bands + 1).index_add(0, slot, power.flatten() * mult)
    return sums[:num_bands] / counts.clamp(min=1)


def _power(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|M(render) - M(target)|^2 averaged over batch and channels.  # [H, W//2+1]"""
    diff = spectral_moments(render - target)
    return (diff.real ** 2 + diff.imag ** 2).flatten(0, -3).mean(0)


def spectral_loss(render: torch.Tensor, target: torch.Tensor, band_weights: torch.Tensor,
                  dc_weight: float = 0.0) -> torch.Tensor:
    """sum_j w_j * mean_{k in band j} |M(k; render) - M(k; target)|^2 + dc_weight * |D(0)|^2.

    render, target: [C, H, W] or [B, C, H, W] (RGB, plus alpha as a 4th channel where the
    target has it); band_weights: [num_bands] (engine/loss/schedule.band_weights)  ->  scalar.
    Its scale does not depend on the resolution (see the module docstring).

    Example::

        >>> x = torch.rand(3, 64, 64)
        >>> spectral_loss(x, x.roll(5, -1), torch.ones(6)).shape
        torch.Size([])
    """
    weights = torch.as_tensor(band_weights)
    if weights.dim() != 1 or weights.numel() < 1:
        raise LossInputError(f"band_weights must be a vector [num_bands], got shape "
                             f"{tuple(weights.shape)}")
    losses = band_losses(render, target, weights.numel())
    loss = (weights.to(device=losses.device, dtype=losses.dtype) * losses).sum()
    if dc_weight:
        dc = spectral_moments(render - target)[..., 0, 0]
        loss = loss + dc_weight * (dc.real ** 2 + dc.imag ** 2).mean()
    return loss


class SpectralLoss(nn.Module):
    """Module form of spectral_loss; the band weights change every step, so they are an
    argument of forward, and dc_weight is fixed at construction."""

    def __init__(self, dc_weight: float = 0.0):
        super().__init__()
        self.dc_weight = float(dc_weight)

    def forward(self, render: torch.Tensor, target: torch.Tensor,
                band_weights: torch.Tensor) -> torch.Tensor:
        """render, target: [C, H, W] or [B, C, H, W]; band_weights: [num_bands] -> scalar."""
        return spectral_loss(render, target, band_weights, self.dc_weight)

    def extra_repr(self) -> str:
        return f"dc_weight={self.dc_weight}"


__all__ = ["spectral_moments", "frequency_radii", "frequency_bands", "column_multiplicity",
           "band_losses", "spectral_loss", "SpectralLoss"]
