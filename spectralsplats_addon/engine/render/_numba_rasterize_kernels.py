"""Compiled CPU kernels of the tile rasterizer (Numba); ``rasterize_numba`` wraps them.

The image is cut into TILE x TILE tiles. Binning gives every tile the list of splats whose
box reaches it, front to back (one counting sort by tile of the depth-sorted splats). Each
tile is then rendered on its own, splat by splat, touching only the pixels of the splat's
box whose centres lie inside the ellipse where alpha can reach 1/255:

    sigma(d) = 0.5 (a dx^2 + c dy^2) + b dx dy,  d = mean - pixel centre
    o exp(-sigma) >= 1/255  <=>  sigma <= log(255 o)

which on a row of fixed dy is an interval of dx (the roots of a quadratic), widened by one
pixel so that rounding never drops a pixel; inside it every test of the contract is made
exactly. All arithmetic is float64.

The backward pass walks each tile back to front from the count stored per pixel,
recovering T_i = T_{i+1} / (1 - alpha_i) as gsplat does, and with S_i the colour composited
behind splat i (background included) and v the upstream gradients:

    dL/dc_i     = alpha_i T_i v_I
    dL/dalpha_i = T_i (c_i . v_I) - (S_i . v_I - T_N v_A) / (1 - alpha_i)

Gradients are summed per chunk of tiles into the chunk's own buffer, then the buffers are
added in chunk order: no atomics, and the same inputs give the same bits.
"""

from __future__ import annotations

import math

import numba
import numpy as np

TILE = 16
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4
SIGMA_MARGIN = 1e-6  # slack on the sigma cut-off: a pre-filter only, exact tests follow

# Columns of the per-splat gradient buffer: means2d (2), conics (3), opacity (1), colors (D).
G_MX, G_MY, G_A, G_B, G_C, G_O, G_COL = 0, 1, 2, 3, 4, 5, 6


@numba.njit(cache=True)
def pixel_boxes(means2d, radii, width, height):
    """Each splat's box as inclusive pixel ranges [N, 4] = (x0, x1, y0, y1), clipped to the
    image; x0 > x1 where the splat reaches no pixel. Pixel x is in the box iff
    |x + 0.5 - m_x| <= r_x, tested exactly as written (the estimate is only a start)."""
    n = means2d.shape[0]
    boxes = np.empty((n, 4), dtype=np.int32)
    for i in range(n):
        boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3] = 0, -1, 0, -1
        rx, ry = radii[i, 0], radii[i, 1]
        mx, my = means2d[i, 0], means2d[i, 1]
        if rx <= 0 or ry <= 0 or not (math.isfinite(mx) and math.isfinite(my)):
            continue
        lo_x, hi_x = _axis_range(mx, float(rx), width)
        lo_y, hi_y = _axis_range(my, float(ry), height)
        if lo_x <= hi_x and lo_y <= hi_y:
            boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3] = lo_x, hi_x, lo_y, hi_y
    return boxes


@numba.njit(cache=True)
def _axis_range(m, r, size):
    """Inclusive pixel range {x in [0, size): |x + 0.5 - m| <= r}; lo > hi when empty."""
    if m + r < 0.0 or m - r > size:
        return 0, -1
    lo = max(0, int(math.floor(m - r - 0.5)) - 1)
    hi = min(size - 1, int(math.ceil(m + r - 0.5)) + 1)
    while lo <= hi and not abs(lo + 0.5 - m) <= r:
        lo += 1
    while hi >= lo and not abs(hi + 0.5 - m) <= r:
        hi -= 1
    return lo, hi


@numba.njit(cache=True)
def bin_tiles(boxes, order, tiles_x, tiles_y):
    """Counting sort of (tile, depth): the splats of tile t, front to back, are
    tile_splats[offsets[t]:offsets[t + 1]]; ``order`` [N] lists splats by depth."""
    n_tiles = tiles_x * tiles_y
    counts = np.zeros(n_tiles + 1, dtype=np.int64)
    for i in range(boxes.shape[0]):
        if boxes[i, 0] > boxes[i, 1]:
            continue
        for ty in range(boxes[i, 2] // TILE, boxes[i, 3] // TILE + 1):
            for tx in range(boxes[i, 0] // TILE, boxes[i, 1] // TILE + 1):
                counts[ty * tiles_x + tx + 1] += 1
    offsets = np.cumsum(counts)
    cursor = offsets[:-1].copy()
    tile_splats = np.empty(offsets[-1], dtype=np.int32)
    for k in range(order.shape[0]):
        i = order[k]
        if boxes[i, 0] > boxes[i, 1]:
            continue
        for ty in range(boxes[i, 2] // TILE, boxes[i, 3] // TILE + 1):
            for tx in range(boxes[i, 0] // TILE, boxes[i, 1] // TILE + 1):
                t = ty * tiles_x + tx
                tile_splats[cursor[t]] = i
                cursor[t] += 1
    return offsets, tile_splats


@numba.njit(cache=True)
def _row_span(mx, dy, a, b, c, cut, x_lo, x_hi):
    """Pixels x in [x_lo, x_hi] of one row that can have sigma <= cut, widened by one pixel:
    the roots in dx of 0.5 a dx^2 + (b dy) dx + 0.5 c dy^2 - cut = 0, with x = m_x - dx - 0.5.
    Returns (x_lo, x_hi) unchanged where the quadratic is degenerate."""
    if not a > 0.0:
        return x_lo, x_hi
    bq = b * dy
    disc = bq * bq - a * (c * dy * dy - 2.0 * cut)
    if not math.isfinite(disc):
        return x_lo, x_hi
    if disc < 0.0:
        return 1, 0
    root = math.sqrt(disc)
    dx_min = (-bq - root) / a
    dx_max = (-bq + root) / a
    lo_f = math.floor(mx - dx_max - 0.5) - 1.0
    hi_f = math.ceil(mx - dx_min - 0.5) + 1.0
    lo = int(lo_f) if lo_f > x_lo else x_lo  # compared as floats first: no int overflow
    hi = int(hi_f) if hi_f < x_hi else x_hi
    return lo, hi


@numba.njit(cache=True)
def _clip_to_tile(boxes, i, tx, ty):
    x0 = max(boxes[i, 0], tx * TILE)
    x1 = min(boxes[i, 1], tx * TILE + TILE - 1)
    y0 = max(boxes[i, 2], ty * TILE)
    y1 = min(boxes[i, 3], ty * TILE + TILE - 1)
    return x0, x1, y0, y1


@numba.njit(parallel=True, fastmath=False, cache=True)
def forward(offsets, tile_splats, boxes, means2d, conics, colors, opacities, background,
            width, height, tiles_x, n_chunks):
    """Front-to-back compositing per tile. Returns image [H, W, D], the final
    transmittance T [H, W] and, per pixel, the count of tile-list entries walked up to its
    last contributing splat [H, W] (what the backward pass starts from)."""
    n_tiles = offsets.shape[0] - 1
    d = colors.shape[1]
    image = np.empty((height, width, d))
    t_final = np.empty((height, width))
    count = np.zeros((height, width), dtype=np.int32)
    for chunk in numba.prange(n_chunks):
        trans = np.empty((TILE, TILE))
        acc = np.empty((TILE, TILE, d))
        walked = np.empty((TILE, TILE), dtype=np.int32)
        done = np.empty((TILE, TILE), dtype=np.bool_)
        for t in range(chunk, n_tiles, n_chunks):
            ty, tx = t // tiles_x, t % tiles_x
            trans[:] = 1.0
            acc[:] = 0.0
            walked[:] = 0
            done[:] = False
            n_live = min(TILE, height - ty * TILE) * min(TILE, width - tx * TILE)
            start = offsets[t]
            for k in range(offsets[t + 1] - start):
                if n_live == 0:
                    break
                i = tile_splats[start + k]
                o = opacities[i]
                if not o >= ALPHA_MIN:
                    continue
                cut = math.log(255.0 * o) + SIGMA_MARGIN
                mx, my = means2d[i, 0], means2d[i, 1]
                a, b, c = conics[i, 0], conics[i, 1], conics[i, 2]
                x0, x1, y0, y1 = _clip_to_tile(boxes, i, tx, ty)
                for y in range(y0, y1 + 1):
                    dy = my - (y + 0.5)
                    lo, hi = _row_span(mx, dy, a, b, c, cut, x0, x1)
                    ly = y - ty * TILE
                    for x in range(lo, hi + 1):
                        lx = x - tx * TILE
                        if done[ly, lx]:
                            continue
                        dx = mx - (x + 0.5)
                        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                        if sigma < 0.0:
                            continue
                        alpha = min(ALPHA_MAX, o * math.exp(-sigma))
                        if alpha < ALPHA_MIN:
                            continue
                        t_here = trans[ly, lx]
                        t_next = t_here * (1.0 - alpha)
                        if t_next < T_MIN:
                            done[ly, lx] = True
                            n_live -= 1
                            continue
                        w = alpha * t_here
                        for ch in range(d):
                            acc[ly, lx, ch] += colors[i, ch] * w
                        trans[ly, lx] = t_next
                        walked[ly, lx] = k + 1
            for ly in range(min(TILE, height - ty * TILE)):
                for lx in range(min(TILE, width - tx * TILE)):
                    y, x = ty * TILE + ly, tx * TILE + lx
                    t_here = trans[ly, lx]
                    for ch in range(d):
                        image[y, x, ch] = acc[ly, lx, ch] + t_here * background[ch]
                    t_final[y, x] = t_here
                    count[y, x] = walked[ly, lx]
    return image, t_final, count


@numba.njit(parallel=True, fastmath=False, cache=True)
def backward(offsets, tile_splats, boxes, means2d, conics, colors, opacities, background,
             t_final, count, v_image, v_alpha, tiles_x, n_chunks):
    """Back-to-front gradient pass per tile. Returns per-chunk gradient buffers
    [n_chunks, N, 6 + D] with columns (means2d x, y; conic a, b, c; opacity; colors)."""
    n_tiles = offsets.shape[0] - 1
    n, d = colors.shape
    height, width = t_final.shape
    grads = np.zeros((n_chunks, n, G_COL + d))
    for chunk in numba.prange(n_chunks):
        g = grads[chunk]
        trans = np.empty((TILE, TILE))
        behind = np.empty((TILE, TILE))   # S_i . v_I - T_N v_A, background included
        walked = np.zeros((TILE, TILE), dtype=np.int32)
        v_col = np.empty(d)
        for t in range(chunk, n_tiles, n_chunks):
            ty, tx = t // tiles_x, t % tiles_x
            walked[:] = 0
            k_end = 0
            for ly in range(min(TILE, height - ty * TILE)):
                for lx in range(min(TILE, width - tx * TILE)):
                    y, x = ty * TILE + ly, tx * TILE + lx
                    t_n = t_final[y, x]
                    trans[ly, lx] = t_n
                    bg_dot = 0.0
                    for ch in range(d):
                        bg_dot += background[ch] * v_image[y, x, ch]
                    behind[ly, lx] = t_n * bg_dot - t_n * v_alpha[y, x]
                    walked[ly, lx] = count[y, x]
                    k_end = max(k_end, count[y, x])
            start = offsets[t]
            for k in range(k_end - 1, -1, -1):
                i = tile_splats[start + k]
                o = opacities[i]
                if not o >= ALPHA_MIN:
                    continue
                cut = math.log(255.0 * o) + SIGMA_MARGIN
                mx, my = means2d[i, 0], means2d[i, 1]
                a, b, c = conics[i, 0], conics[i, 1], conics[i, 2]
                x0, x1, y0, y1 = _clip_to_tile(boxes, i, tx, ty)
                v_mx = v_my = v_a = v_b = v_c = v_o = 0.0
                v_col[:] = 0.0
                for y in range(y0, y1 + 1):
                    dy = my - (y + 0.5)
                    lo, hi = _row_span(mx, dy, a, b, c, cut, x0, x1)
                    ly = y - ty * TILE
                    for x in range(lo, hi + 1):
                        lx = x - tx * TILE
                        if k >= walked[ly, lx]:
                            continue
                        dx = mx - (x + 0.5)
                        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                        if sigma < 0.0:
                            continue
                        vis = math.exp(-sigma)
                        raw = o * vis
                        alpha = min(ALPHA_MAX, raw)
                        if alpha < ALPHA_MIN:
                            continue
                        one_minus = 1.0 - alpha
                        t_i = trans[ly, lx] / one_minus
                        w = alpha * t_i
                        c_dot = 0.0
                        for ch in range(d):
                            vi = v_image[y, x, ch]
                            v_col[ch] += w * vi
                            c_dot += colors[i, ch] * vi
                        v_al = t_i * c_dot - behind[ly, lx] / one_minus
                        behind[ly, lx] += c_dot * w
                        trans[ly, lx] = t_i
                        if raw <= ALPHA_MAX:
                            v_o += vis * v_al
                            v_sigma = -raw * v_al
                            v_a += 0.5 * dx * dx * v_sigma
                            v_b += dx * dy * v_sigma
                            v_c += 0.5 * dy * dy * v_sigma
                            v_mx += (a * dx + b * dy) * v_sigma
                            v_my += (b * dx + c * dy) * v_sigma
                g[i, G_MX] += v_mx
                g[i, G_MY] += v_my
                g[i, G_A] += v_a
                g[i, G_B] += v_b
                g[i, G_C] += v_c
                g[i, G_O] += v_o
                for ch in range(d):
                    g[i, G_COL + ch] += v_col[ch]
    return grads
