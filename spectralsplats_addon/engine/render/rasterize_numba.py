"""The compiled CPU rasterizer: the contract of ``rasterize_torch``, built for speed.

Tile binning (16 x 16 tiles, one counting sort of the depth-sorted splats), a forward
kernel that walks each tile's splats front to back over only the pixels each one can
reach, and a backward kernel that walks them back to front; both in Numba
(``_numba_rasterize_kernels``), wrapped in a ``torch.autograd.Function``. Kernels compile once per
machine (``cache=True``); the first call in a fresh cache pays the compile.

    >>> image, alpha = rasterize_numba(means2d, conics, colors, opacities, depths, radii, 64, 48)
    >>> image.shape, alpha.shape
    (torch.Size([48, 64, 3]), torch.Size([48, 64]))
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from torch import Tensor

from ..errors import RenderError
from . import _numba_rasterize_kernels as kernels
from .cpu_arrays import check_cpu_tensors, float64_array
from .numba_helpers import sum_chunks


def rasterize_numba(
    means2d: Tensor,      # [N, 2] pixel coords, x right, y down; pixel centres at +0.5
    conics: Tensor,       # [N, 3] (a, b, c): upper triangle of the inverse 2D covariance
    colors: Tensor,       # [N, D] per-splat features, any D >= 1
    opacities: Tensor,    # [N] in [0, 1]
    depths: Tensor,       # [N] camera z: compositing order (front = smaller, ties by index)
    radii: Tensor,        # [N, 2] int half-extents of each splat's box; any 0 = culled
    width: int,
    height: int,
    background: Tensor | None = None,  # [D]; None = zeros
) -> tuple[Tensor, Tensor]:           # image [H, W, D], alpha [H, W]
    """Composites the splats front to back (the rasterizer contract).

    A splat takes part at pixel centre p iff both radii are > 0 and p is in its box
    |p - m| <= r (per axis). With d = m - p, sigma = 0.5 (a d_x^2 + c d_y^2) + b d_x d_y
    (skipped if < 0), alpha = min(0.999, o exp(-sigma)) (skipped if < 1/255); a pixel stops
    before the splat that would take T (1 - alpha) below 1e-4. image = sum c_i alpha_i T_i
    + T background, alpha = 1 - T. Differentiable in means2d, conics, colors, opacities
    (and background); computed in float64, returned in the input dtype, on the CPU.
    """
    _check_inputs(means2d, conics, colors, opacities, depths, radii, width, height, background)
    if background is None:
        background = torch.zeros(colors.shape[1], dtype=colors.dtype)
    return _RasterizeNumba.apply(means2d, conics, colors, opacities, background,
                                 depths, radii, int(width), int(height))


class _RasterizeNumba(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means2d, conics, colors, opacities, background, depths, radii, width, height):
        arrays = [float64_array(x) for x in (means2d, conics, colors, opacities, background)]
        m, cn, col, op, bg = arrays
        r = np.ascontiguousarray(radii.detach().cpu().numpy(), dtype=np.int32)
        order = depth_order(float64_array(depths))
        tiles_x = -(-width // kernels.TILE)
        tiles_y = -(-height // kernels.TILE)
        boxes = kernels.pixel_boxes(m, r, width, height)
        offsets, tile_splats = kernels.bin_tiles(boxes, order, tiles_x, tiles_y)
        n_chunks = numba.get_num_threads()
        image, t_final, count = kernels.forward(offsets, tile_splats, boxes, m, cn, col, op, bg,
                                                width, height, tiles_x, n_chunks)
        ctx.saved = (offsets, tile_splats, boxes, m, cn, col, op, bg, t_final, count, tiles_x)
        ctx.dtype = means2d.dtype
        return (torch.from_numpy(image).to(means2d.dtype),
                torch.from_numpy(1.0 - t_final).to(means2d.dtype))

    @staticmethod
    def backward(ctx, v_image, v_alpha):
        offsets, tile_splats, boxes, m, cn, col, op, bg, t_final, count, tiles_x = ctx.saved
        h, w = t_final.shape
        v_img = float64_array(v_image) if v_image is not None else np.zeros((h, w, col.shape[1]))
        v_a = float64_array(v_alpha) if v_alpha is not None else np.zeros((h, w))
        chunks = kernels.backward(offsets, tile_splats, boxes, m, cn, col, op, bg, t_final,
                                  count, v_img, v_a, tiles_x, numba.get_num_threads())
        g = torch.from_numpy(sum_chunks(chunks)).to(ctx.dtype)
        v_bg = torch.from_numpy(np.einsum("hw,hwd->d", t_final, v_img)).to(ctx.dtype)
        G = kernels
        return (g[:, G.G_MX:G.G_MY + 1], g[:, G.G_A:G.G_C + 1], g[:, G.G_COL:], g[:, G.G_O],
                v_bg, None, None, None, None)


def depth_order(depths: np.ndarray) -> np.ndarray:
    """Indices [N] sorting float64 depths [N] ascending, ties by index: np.argsort(kind=
    "stable") of the depths' bits as int64 keys, mapped to a total order (negative values'
    magnitude bits flipped; +0.0 for -0.0), which sorts a third faster than the floats."""
    bits = (depths + 0.0).view(np.int64)
    keys = bits ^ ((bits >> 63) & np.int64(0x7FFFFFFFFFFFFFFF))
    return np.argsort(keys, kind="stable")


def _check_inputs(means2d, conics, colors, opacities, depths, radii, width, height, background):
    """Raises RenderError naming the first argument that breaks the contract."""
    if not (isinstance(width, (int, np.integer)) and isinstance(height, (int, np.integer))
            and width > 0 and height > 0):
        raise RenderError(f"rasterize_numba needs positive integer width and height, got "
                          f"{width!r} x {height!r}")
    tensors = {"means2d": means2d, "conics": conics, "colors": colors, "opacities": opacities,
               "depths": depths, "radii": radii}
    if background is not None:
        tensors["background"] = background
    check_cpu_tensors(tensors, "rasterize_numba", "render with backend='gsplat'", RenderError)
    n = means2d.shape[0] if means2d.dim() == 2 else -1
    d = colors.shape[1] if colors.dim() == 2 else -1
    expected = {"means2d": (n, 2), "conics": (n, 3), "colors": (n, d), "opacities": (n,),
                "depths": (n,), "radii": (n, 2)}
    if background is not None:
        expected["background"] = (d,)
    for name, shape in expected.items():
        got = tuple(tensors[name].shape)
        if n < 0 or d < 1 or got != shape:
            raise RenderError(f"rasterize_numba: {name} has shape {list(got)}, expected "
                              f"{_shape_text(name)} (N = {n if n >= 0 else '?'}, "
                              f"D = {d if d >= 1 else '?'})")
    dtype = means2d.dtype
    if dtype not in (torch.float32, torch.float64):
        raise RenderError(f"rasterize_numba takes float32 or float64 tensors, got means2d "
                          f"as {dtype}")
    for name in ("conics", "colors", "opacities", "background"):
        if name in tensors and tensors[name].dtype != dtype:
            raise RenderError(f"rasterize_numba: {name} is {tensors[name].dtype} but means2d is "
                              f"{dtype}; pass every float input in one dtype")
    if radii.dtype.is_floating_point or radii.dtype == torch.bool or radii.is_complex():
        raise RenderError(f"rasterize_numba: radii must be an integer tensor (int32), got "
                          f"{radii.dtype}")


def _shape_text(name: str) -> str:
    return {"means2d": "[N, 2]", "conics": "[N, 3]", "colors": "[N, D] with D >= 1",
            "opacities": "[N]", "depths": "[N]", "radii": "[N, 2]",
            "background": "[D]"}[name]
