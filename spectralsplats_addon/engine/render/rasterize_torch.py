"""The pure-PyTorch rasterizer: the reference implementation of the rasterizer contract.

For each pixel centre p = (x + 0.5, y + 0.5), splat i takes part iff both radii are > 0 and
|p_x - m_x| <= r_x, |p_y - m_y| <= r_y. With d = m - p,

    sigma_i = 0.5 (a d_x^2 + c d_y^2) + b d_x d_y            (skipped if < 0)
    alpha_i = min(0.999, o_i exp(-sigma_i))                  (skipped if < 1/255)

and the splats composite front to back in increasing depth (ties: lower index first):

    T_i   = prod_{j before i} (1 - alpha_j)                  (stop before T_i (1 - alpha_i) < 1e-4)
    image = sum_i c_i alpha_i T_i + T background,   alpha_out = 1 - T

Memory grows with the number of (splat, pixel) pairs, never with splats x pixels:

1. (no autograd) splats in depth order, in chunks of bounded box area: enumerate each box's
   pixels (repeat_interleave over box sizes), evaluate alpha, keep the pairs that pass the
   thresholds and whose pixel was not already saturated by earlier chunks;
2. (no autograd) sort the pairs by (pixel, depth rank) with one sort on a combined key, get
   each pair's transmittance as a segmented cumulative sum of log(1 - alpha) (float64), drop
   the pairs past the T < 1e-4 stop;
3. (autograd) recompute alpha for the surviving pairs from the inputs, the exclusive
   transmittance by the same segmented sum, and scatter-add alpha T c into the image.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import RenderError
from .projection import ALPHA_THRESHOLD

MAX_ALPHA = 0.999
MIN_TRANSMITTANCE = 1e-4
LOG_MIN_TRANSMITTANCE = math.log(MIN_TRANSMITTANCE)
PAIR_CHUNK = 1 << 21  # candidate (splat, pixel) pairs evaluated at once in step 1


def rasterize_torch(
    means2d: Tensor,    # [N, 2] pixel coords, x right, y down; pixel (i, j) centre (i+0.5, j+0.5)
    conics: Tensor,     # [N, 3] (a, b, c) = upper triangle of the inverse 2D covariance
    colors: Tensor,     # [N, D] per-splat features, any D >= 1
    opacities: Tensor,  # [N] in [0, 1]
    depths: Tensor,     # [N] camera-space z, the compositing order key (front = smaller)
    radii: Tensor,      # [N, 2] int half-extents in pixels of each splat's box; any 0 = culled
    width: int,
    height: int,
    background: Tensor | None = None,  # [D]; None = zeros
) -> tuple[Tensor, Tensor]:            # image [H, W, D], alpha [H, W]
    """Composites the splats front to back (module docstring: the contract and the method).

    Differentiable in means2d, conics, colors, opacities and background (plain autograd);
    no gradient to depths or radii. float32 or float64 in, the same dtype out.

        >>> image, alpha = rasterize_torch(means2d, conics, colors, opacities, depths, radii,
        ...                                64, 48)
        >>> image.shape, alpha.shape
        (torch.Size([48, 64, 3]), torch.Size([48, 64]))
    """
    _check_inputs(means2d, conics, colors, opacities, depths, radii, width, height, background)
    width, height = int(width), int(height)
    dtype, device = means2d.dtype, means2d.device
    if background is None:
        background = torch.zeros(colors.shape[1], dtype=dtype, device=device)
    with torch.no_grad():
        pixels, splats = contributing_pairs(means2d, conics, opacities, depths, radii,
                                            width, height)
    image, log_t = _composite(pixels, splats, means2d, conics, colors, opacities, width, height)
    transmittance = log_t.exp().to(dtype)  # [H*W]
    image = image + transmittance[:, None] * background.to(dtype)
    return (image.reshape(height, width, -1),
            (1.0 - transmittance).reshape(height, width))


def contributing_pairs(
    means2d: Tensor,    # [N, 2]
    conics: Tensor,     # [N, 3]
    opacities: Tensor,  # [N]
    depths: Tensor,     # [N]
    radii: Tensor,      # [N, 2]
    width: int,
    height: int,
) -> tuple[Tensor, Tensor]:  # pixel index y * W + x [P] int64, splat index [P] int64
    """Every (pixel, splat) pair that contributes, sorted by pixel then front to back."""
    visible = torch.nonzero((radii > 0).all(dim=-1)).squeeze(1)
    by_depth = visible[torch.argsort(depths[visible], stable=True)]  # ties: lower index first
    pix, rank, alpha = _thresholded_pairs(means2d, conics, opacities, radii, by_depth,
                                          width, height)
    order = torch.argsort(pix * max(len(by_depth), 1) + rank)
    pix, rank, alpha = pix[order], rank[order], alpha[order]
    log_keep = torch.log1p(-alpha.to(torch.float64))
    starts = _segment_starts(pix)
    inclusive = _segmented_exclusive_cumsum(log_keep, starts) + log_keep
    live = inclusive >= LOG_MIN_TRANSMITTANCE  # a prefix of each pixel's list
    return pix[live], by_depth[rank[live]]


def _thresholded_pairs(means2d, conics, opacities, radii, by_depth, width, height):
    """Step 1: (pixel, depth rank, alpha) of every pair over the alpha threshold, in chunks of
    at most PAIR_CHUNK candidates, dropping pixels saturated by the chunks in front."""
    device = means2d.device
    m = means2d[by_depth].to(torch.float64)
    r = radii[by_depth].to(torch.float64)
    # A conservative pixel range per box (one pixel wider on each side); the exact test is below.
    x0 = torch.floor(m[:, 0] - r[:, 0] - 0.5).clamp(0, width).long()
    x1 = torch.ceil(m[:, 0] + r[:, 0] - 0.5).clamp(-1, width - 1).long()
    y0 = torch.floor(m[:, 1] - r[:, 1] - 0.5).clamp(0, height).long()
    y1 = torch.ceil(m[:, 1] + r[:, 1] - 0.5).clamp(-1, height - 1).long()
    nx, ny = (x1 - x0 + 1).clamp_min(0), (y1 - y0 + 1).clamp_min(0)
    counts = nx * ny
    ends = counts.cumsum(0)
    log_t = torch.zeros(height * width, dtype=torch.float64, device=device)
    out_pix, out_rank, out_alpha = [], [], []
    start, n = 0, len(by_depth)
    while start < n:
        done_before = int(ends[start - 1]) if start else 0
        stop = int(torch.searchsorted(ends, done_before + PAIR_CHUNK, right=True))
        stop = min(max(stop, start + 1), n)
        local = torch.arange(start, stop, device=device)
        per = counts[start:stop]
        rank = torch.repeat_interleave(local, per)
        first = ends[rank] - counts[rank] - done_before  # where each splat's run begins
        offset = torch.arange(int(per.sum()), device=device) - first
        px = x0[rank] + offset % nx[rank]
        py = y0[rank] + torch.div(offset, nx[rank], rounding_mode="floor")
        splat = by_depth[rank]
        alpha, inside = _pair_alpha(means2d[splat], conics[splat], opacities[splat],
                                    px, py, radii[splat])
        pix = py * width + px
        keep = inside & (log_t[pix] >= LOG_MIN_TRANSMITTANCE)
        pix, rank, alpha = pix[keep], rank[keep], alpha[keep]
        log_t.index_add_(0, pix, torch.log1p(-alpha.to(torch.float64)))
        out_pix.append(pix)
        out_rank.append(rank)
        out_alpha.append(alpha)
        start = stop
    if not out_pix:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, torch.zeros(0, dtype=means2d.dtype, device=device)
    return torch.cat(out_pix), torch.cat(out_rank), torch.cat(out_alpha)


def _pair_alpha(
    means: Tensor,      # [P, 2]
    conics: Tensor,     # [P, 3]
    opacities: Tensor,  # [P]
    px: Tensor,         # [P] int pixel column
    py: Tensor,         # [P] int pixel row
    radii: Tensor | None = None,  # [P, 2]; None = skip the box test
) -> tuple[Tensor, Tensor]:  # alpha [P], taking part [P] bool
    """alpha = min(0.999, o exp(-sigma)) at the pixel centres, and whether the pair passes
    the box, sigma >= 0 and alpha >= 1/255 tests."""
    dx = means[:, 0] - (px.to(means.dtype) + 0.5)
    dy = means[:, 1] - (py.to(means.dtype) + 0.5)
    a, b, c = conics.unbind(-1)
    sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
    alpha = (opacities * torch.exp(-sigma)).clamp_max(MAX_ALPHA)
    passes = (sigma >= 0) & (alpha >= ALPHA_THRESHOLD)
    if radii is not None:
        r = radii.to(means.dtype)
        passes &= (dx.abs() <= r[:, 0]) & (dy.abs() <= r[:, 1])
    return alpha, passes


def _composite(pixels, splats, means2d, conics, colors, opacities, width, height):
    """Step 3, under autograd: -> image [H*W, D] (without background) and log T [H*W] float64."""
    alpha, _ = _pair_alpha(means2d[splats], conics[splats], opacities[splats],
                           pixels % width, torch.div(pixels, width, rounding_mode="floor"))
    log_keep = torch.log1p(-alpha.to(torch.float64))
    before = _segmented_exclusive_cumsum(log_keep, _segment_starts(pixels))
    weight = alpha * before.exp().to(alpha.dtype)  # alpha_i T_i
    num_pixels = height * width
    image = torch.zeros(num_pixels, colors.shape[1], dtype=colors.dtype, device=colors.device)
    image = image.index_add(0, pixels, weight[:, None].to(colors.dtype) * colors[splats])
    log_t = torch.zeros(num_pixels, dtype=torch.float64, device=colors.device)
    return image, log_t.index_add(0, pixels, log_keep)


def _segment_starts(keys: Tensor) -> Tensor:
    """[P] sorted keys -> [P] bool, True where a run of equal keys begins."""
    starts = torch.ones_like(keys, dtype=torch.bool)
    starts[1:] = keys[1:] != keys[:-1]
    return starts


def _segmented_exclusive_cumsum(values: Tensor, starts: Tensor) -> Tensor:
    """[P] values, [P] bool run starts -> [P] sum of the values before each one in its run."""
    exclusive = values.cumsum(0) - values
    run = starts.cumsum(0) - 1
    return exclusive - exclusive[starts][run]


def _check_inputs(means2d, conics, colors, opacities, depths, radii, width, height, background):
    if int(width) <= 0 or int(height) <= 0:
        raise RenderError(f"image size must be positive, got {width} x {height}")
    if colors.ndim != 2 or colors.shape[1] < 1:
        raise RenderError(f"colors must be [N, D] with D >= 1, got {tuple(colors.shape)}")
    n = means2d.shape[0]
    expected = {"means2d": (means2d, (n, 2)), "conics": (conics, (n, 3)),
                "colors": (colors, (n, colors.shape[1])), "opacities": (opacities, (n,)),
                "depths": (depths, (n,)), "radii": (radii, (n, 2))}
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape:
            raise RenderError(f"rasterizer input {name} has shape {tuple(tensor.shape)}, "
                              f"expected {shape} for N={n}")
    if means2d.dtype not in (torch.float32, torch.float64):
        raise RenderError(f"rasterizer inputs must be float32 or float64, got {means2d.dtype}")
    for name in ("conics", "colors", "opacities"):
        if expected[name][0].dtype != means2d.dtype:
            raise RenderError(f"rasterizer input {name} is {expected[name][0].dtype}, "
                              f"means2d is {means2d.dtype}: give them one dtype")
    if background is not None and tuple(background.shape) != (colors.shape[1],):
        raise RenderError(f"background has shape {tuple(background.shape)}, "
                          f"expected ({colors.shape[1]},) to match colors")
