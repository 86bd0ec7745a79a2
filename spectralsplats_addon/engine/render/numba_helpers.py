"""Helpers shared by the compiled kernels (projection, rasterizer, skinning), in Numba: the
quaternion maths below (the compiled twin of engine/geometry.quat_to_rotmat, which owns it),
and ``sum_chunks``, the ordered sum of per-chunk gradients.

For q = (w, x, y, z) of any non-zero length, n = q / |q| and R = R(n) (row-major 9-tuple):

    R = [[1 - 2(y^2 + z^2), 2(xy - wz), 2(xz + wy)],
         [2(xy + wz), 1 - 2(x^2 + z^2), 2(yz - wx)],
         [2(xz - wy), 2(yz + wx), 1 - 2(x^2 + y^2)]]

and, given G = dL/dR, dL/dq = (dL/dn - n (n . dL/dn)) / |q| with dL/dn = sum G_ab dR_ab/dn.

Numba's cache keys a kernel on its own file only: after editing this one, clear the
``__pycache__`` folders (or touch _numba_projection_kernels.py and _numba_skinning_kernels.py)
so the kernels that inline these helpers compile again.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def unit_quat(quats, i):
    """Row i of quats [., 4] -> (w, x, y, z) of q / |q| and 1 / |q|."""
    qw, qx, qy, qz = quats[i, 0], quats[i, 1], quats[i, 2], quats[i, 3]
    norm = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
    return qw / norm, qx / norm, qy / norm, qz / norm, 1.0 / norm


@numba.njit(cache=True, error_model="numpy")
def rotation(w, x, y, z):
    """Unit quaternion -> R as a row-major 9-tuple."""
    return (1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y),
            2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x),
            2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y))


@numba.njit(cache=True, error_model="numpy")
def rotation_backward(w, x, y, z, inv_norm, g):
    """dL/dq (through R(n) and n = q / |q|) as a 4-tuple, from n = (w, x, y, z), 1 / |q| and
    g = dL/dR (row-major 9-tuple or array)."""
    v_w = 2.0 * (-z * g[1] + y * g[2] + z * g[3] - x * g[5] - y * g[6] + x * g[7])
    v_x = 2.0 * (y * g[1] + z * g[2] + y * g[3] - 2.0 * x * g[4] - w * g[5] + z * g[6]
                 + w * g[7] - 2.0 * x * g[8])
    v_y = 2.0 * (-2.0 * y * g[0] + x * g[1] + w * g[2] + x * g[3] + z * g[5] - w * g[6]
                 + z * g[7] - 2.0 * y * g[8])
    v_z = 2.0 * (-2.0 * z * g[0] - w * g[1] + x * g[2] + w * g[3] - 2.0 * z * g[4]
                 + y * g[5] + x * g[6] + y * g[7])
    dot = w * v_w + x * v_x + y * v_y + z * v_z
    return ((v_w - w * dot) * inv_norm, (v_x - x * dot) * inv_norm,
            (v_y - y * dot) * inv_norm, (v_z - z * dot) * inv_norm)


@numba.njit(parallel=True, cache=True)
def sum_chunks(grads):
    """[n_chunks, N, K] -> [N, K], adding the chunks in order (deterministic)."""
    n_chunks, n, k = grads.shape
    out = np.zeros((n, k))
    for i in numba.prange(n):
        for chunk in range(n_chunks):
            for j in range(k):
                out[i, j] += grads[chunk, i, j]
    return out
