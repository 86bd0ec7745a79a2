"""Resampling frames to the tracking resolution, and the camera intrinsics to match.

Along an axis shrunk from n to m pixels, output pixel j averages the input over the interval
[j * n / m, (j + 1) * n / m) in pixel units, each input pixel weighted by its overlap with
that interval (area averaging: no aliasing, exact for integer factors). Along an axis that
grows, output pixel j samples the input linearly at x = (j + 0.5) * n / m - 0.5 (pixel
centres aligned, edges clamped). Both are a matrix per axis: out = Wy @ image @ Wx^T.

Pixel (i, j) has its centre at (i + 0.5, j + 0.5), as in engine/conventions.py, so scaling
row 0 of K by m_x / n_x and row 1 by m_y / n_y keeps every projected point at the same
place relative to the image (``Camera.resized``).
"""

from __future__ import annotations

import numpy as np

from ..conventions import Camera
from ..errors import VideoError


def axis_weights(n: int, m: int) -> np.ndarray:  # -> [m, n] float64, rows sum to 1
    """The resampling matrix of one axis, n input pixels -> m output pixels."""
    if m <= n:
        edges = np.arange(m + 1, dtype=np.float64) * (n / m)
        lo, hi = edges[:-1, None], edges[1:, None]  # [m, 1]
        left = np.arange(n, dtype=np.float64)[None, :]  # [1, n]
        overlap = np.clip(np.minimum(hi, left + 1.0) - np.maximum(lo, left), 0.0, None)
        return overlap / overlap.sum(axis=1, keepdims=True)
    x = np.clip((np.arange(m) + 0.5) * (n / m) - 0.5, 0.0, n - 1.0)
    i0 = np.floor(x).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    t = x - i0
    w = np.zeros((m, n))
    np.add.at(w, (np.arange(m), i0), 1.0 - t)
    np.add.at(w, (np.arange(m), i1), t)
    return w


def check_size(width, height) -> tuple[int, int]:
    if int(width) != width or int(height) != height or width < 1 or height < 1:
        raise VideoError(None, f"the tracking size must be positive whole pixels, got "
                               f"{width} x {height}", "pass e.g. size=(480, 270)")
    return int(width), int(height)


def resize_area(image: np.ndarray,  # [H, W] or [H, W, C] float32
                width: int, height: int) -> np.ndarray:  # [height, width(, C)] float32
    """Resample an image to width x height: area averaging down, linear up (module doc)."""
    width, height = check_size(width, height)
    img = np.asarray(image, dtype=np.float32)
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img.copy()
    wy = axis_weights(h, height).astype(np.float32)  # [height, h]
    wx = axis_weights(w, width).astype(np.float32)  # [width, w]
    out = np.tensordot(wy, img, axes=(1, 0))  # [height, w(, C)]
    out = np.moveaxis(np.tensordot(wx, out, axes=(1, 1)), 0, 1)  # [height, width(, C)]
    return np.ascontiguousarray(out, dtype=np.float32)


def fit_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) scaled so its longer side is at most max_side, aspect kept, >= 1 px."""
    w, h = size
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def scale_camera(camera: Camera, width: int, height: int) -> Camera:
    """The camera whose image is the footage resampled to width x height (K scaled per axis)."""
    width, height = check_size(width, height)
    return camera.resized(width, height)
