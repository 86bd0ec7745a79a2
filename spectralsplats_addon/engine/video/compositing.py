"""Alpha compositing of straight (unassociated) colour over a flat background.

    composite(rgb, a, bg) = rgb * a + bg * (1 - a)        straight colour (PNG, most movies)
    composite(rgb, a, bg) = rgb + bg * (1 - a)            premultiplied colour (rgb = c * a)

Frames from this package always carry straight colour; ``unpremultiply`` converts files that
store premultiplied colour on read. numpy only.
"""

from __future__ import annotations

import numpy as np

from ..errors import VideoError

# Rec. 709 luma weights, applied to the stored (non-linear) values: how a matte reads grey.
REC709_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def as_background(background) -> np.ndarray:
    """A scalar or an RGB triple -> float32 [3] in [0, 1]."""
    bg = np.asarray(background, dtype=np.float32).reshape(-1)
    if bg.size == 1:
        bg = np.repeat(bg, 3)
    if bg.shape != (3,) or not np.isfinite(bg).all():
        raise VideoError(None, f"background must be one grey level or an RGB triple, got "
                               f"{np.asarray(background).tolist()!r}",
                         "pass e.g. (0.0, 0.0, 0.0) for black or 0.5 for mid grey")
    return bg


def composite(rgba: np.ndarray,  # [H, W, 4] float32 in [0, 1]
              background=(0.0, 0.0, 0.0),  # [3] or a scalar
              premultiplied: bool = False) -> np.ndarray:  # [H, W, 3] float32
    """Composite an RGBA image over a flat background (see the module docstring)."""
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise VideoError(None, f"composite needs an RGBA image [H, W, 4], got shape "
                               f"{list(rgba.shape)}",
                         "stack the colour and alpha as np.dstack([rgb, alpha])")
    return composite_alpha(rgba[..., :3], rgba[..., 3], background, premultiplied)


def composite_alpha(rgb: np.ndarray,  # [H, W, 3] float32
                    alpha: np.ndarray,  # [H, W] float32
                    background=(0.0, 0.0, 0.0),  # [3] or a scalar
                    premultiplied: bool = False) -> np.ndarray:  # [H, W, 3] float32
    """``composite`` with colour and alpha given apart."""
    bg = as_background(background)
    a = np.asarray(alpha, dtype=np.float32)[..., None]
    colour = rgb if premultiplied else rgb * a
    return (colour + bg * (1.0 - a)).astype(np.float32)


def unpremultiply(rgb: np.ndarray,  # [H, W, 3] premultiplied colour
                  alpha: np.ndarray) -> np.ndarray:  # [H, W] -> [H, W, 3] straight colour
    """c = rgb / a where a > 0, and 0 where the pixel is fully transparent."""
    a = np.asarray(alpha, dtype=np.float32)[..., None]
    out = np.divide(rgb, a, out=np.zeros_like(rgb, dtype=np.float32), where=a > 0)
    return np.clip(out, 0.0, 1.0)


def luminance(rgb: np.ndarray) -> np.ndarray:  # [H, W, 3] -> [H, W]
    """Rec. 709 luma of the stored values: 0.2126 R + 0.7152 G + 0.0722 B."""
    return (np.asarray(rgb, dtype=np.float32) @ REC709_LUMA).astype(np.float32)
