"""Compiled CPU kernels of one frame's linear blend skinning (Numba); ``skin_splats`` wraps them.

Per control point k, with r_k its rotation quaternion (w x y z, any non-zero norm),
n_k = r_k / |r_k|, R_k = R(n_k), s_k = -1 where r_k's w < 0 else +1, a row of ``maps``:

    columns 0..8   R_k (row-major)
    columns 9..11  o_k = p_k + t_k - R_k p_k
    columns 12..15 s_k r_k

and per splat i, bound to control points c = indices[i, j] with weights w = weights[i, j]:

    A_i = sum_j w R_c,   b_i = sum_j w o_c,   m_i = sum_j w s_c r_c
    x'_i = A_i x_i + b_i,   u_i = m_i / max(|m_i|, 1e-12),   q'_i = u_i * q_i (Hamilton)

The backward kernel sums, per control point, the gradients of its row of ``maps``
(same columns) from the upstream gradients gx = dL/dx'_i and gq = dL/dq'_i:

    dL/dR_c += (w gx) x_i^T,   dL/do_c += w gx,   dL/d(s_c r_c) += w dL/dm_i
    dL/du_i  = Q(q_i)^T gq                   (u * q = Q(q) u)
    dL/dm_i  = (dL/du - u (u . dL/du)) / |m|  where |m| >= 1e-12, else dL/du / 1e-12

The splats are cut into a fixed number of contiguous ranges (chunks), each summing into its
own [P, 16] buffer; the buffers are added in chunk order: no atomics, and the same inputs
give the same bits whatever the thread count. ``control_point_backward`` then takes those
P rows through o_k, R_k and the normalisation to dL/dr_k and dL/dt_k.
All arithmetic is float64; splat arrays are read in their own dtype.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..render.numba_helpers import rotation, rotation_backward, unit_quat

C_R, C_O, C_Q, WIDTH = 0, 9, 12, 16   # columns of a maps / gradient row
NORM_MIN = 1e-12                       # the clamp on the blended quaternion's norm


@numba.njit(cache=True)
def control_point_maps(control_points, rotations, translations):
    """[P, 3], [P, 4], [P, 3] float64 -> [P, 16] rows (R_k, o_k, s_k r_k) (module docstring)."""
    p = control_points.shape[0]
    maps = np.empty((p, WIDTH))
    for k in range(p):
        w, x, y, z, _ = unit_quat(rotations, k)
        R = rotation(w, x, y, z)
        for a in range(9):
            maps[k, C_R + a] = R[a]
        for a in range(3):
            rp = R[3 * a] * control_points[k, 0] + R[3 * a + 1] * control_points[k, 1] \
                + R[3 * a + 2] * control_points[k, 2]
            maps[k, C_O + a] = control_points[k, a] + translations[k, a] - rp
        sign = -1.0 if rotations[k, 0] < 0 else 1.0
        for a in range(4):
            maps[k, C_Q + a] = sign * rotations[k, a]
    return maps


@numba.njit(parallel=True, cache=True)
def forward(maps, means, quats, indices, weights, out_means, out_quats, n_chunks):
    """Writes x'_i into out_means [N, 3] and q'_i into out_quats [N, 4] (module docstring)."""
    n = means.shape[0]
    for chunk in numba.prange(n_chunks):
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = 0.0   # A_i, row-major
            b0 = b1 = b2 = 0.0                                 # b_i
            m0 = m1 = m2 = m3 = 0.0                            # m_i
            for j in range(indices.shape[1]):
                r = maps[indices[i, j]]
                w = np.float64(weights[i, j])
                a0 += w * r[C_R]
                a1 += w * r[C_R + 1]
                a2 += w * r[C_R + 2]
                a3 += w * r[C_R + 3]
                a4 += w * r[C_R + 4]
                a5 += w * r[C_R + 5]
                a6 += w * r[C_R + 6]
                a7 += w * r[C_R + 7]
                a8 += w * r[C_R + 8]
                b0 += w * r[C_O]
                b1 += w * r[C_O + 1]
                b2 += w * r[C_O + 2]
                m0 += w * r[C_Q]
                m1 += w * r[C_Q + 1]
                m2 += w * r[C_Q + 2]
                m3 += w * r[C_Q + 3]
            x0, x1, x2 = np.float64(means[i, 0]), np.float64(means[i, 1]), np.float64(means[i, 2])
            out_means[i, 0] = (a0 * x0 + a1 * x1 + a2 * x2) + b0
            out_means[i, 1] = (a3 * x0 + a4 * x1 + a5 * x2) + b1
            out_means[i, 2] = (a6 * x0 + a7 * x1 + a8 * x2) + b2
            scale = max(math.sqrt(m0 * m0 + m1 * m1 + m2 * m2 + m3 * m3), NORM_MIN)
            uw, ux, uy, uz = m0 / scale, m1 / scale, m2 / scale, m3 / scale
            qw, qx = np.float64(quats[i, 0]), np.float64(quats[i, 1])
            qy, qz = np.float64(quats[i, 2]), np.float64(quats[i, 3])
            out_quats[i, 0] = uw * qw - ux * qx - uy * qy - uz * qz
            out_quats[i, 1] = uw * qx + ux * qw + uy * qz - uz * qy
            out_quats[i, 2] = uw * qy - ux * qz + uy * qw + uz * qx
            out_quats[i, 3] = uw * qz + ux * qy - uy * qx + uz * qw


@numba.njit(parallel=True, cache=True)
def backward(maps, means, quats, indices, weights, v_means, v_quats, n_chunks):
    """Per-chunk gradients of the rows of ``maps``: [n_chunks, P, 16] (module docstring)."""
    n, k = indices.shape
    grads = np.zeros((n_chunks, maps.shape[0], WIDTH))
    for chunk in numba.prange(n_chunks):
        g = grads[chunk]
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            mw = mx = my = mz = 0.0
            for j in range(k):
                r = maps[indices[i, j]]
                w = np.float64(weights[i, j])
                mw += w * r[C_Q]
                mx += w * r[C_Q + 1]
                my += w * r[C_Q + 2]
                mz += w * r[C_Q + 3]
            # dL/du = Q(q)^T gq, then through u = m / max(|m|, 1e-12)
            gw, gx, gy, gz = (np.float64(v_quats[i, 0]), np.float64(v_quats[i, 1]),
                              np.float64(v_quats[i, 2]), np.float64(v_quats[i, 3]))
            qw, qx = np.float64(quats[i, 0]), np.float64(quats[i, 1])
            qy, qz = np.float64(quats[i, 2]), np.float64(quats[i, 3])
            du_w = gw * qw + gx * qx + gy * qy + gz * qz
            du_x = -gw * qx + gx * qw - gy * qz + gz * qy
            du_y = -gw * qy + gx * qz + gy * qw - gz * qx
            du_z = -gw * qz - gx * qy + gy * qx + gz * qw
            norm = math.sqrt(mw * mw + mx * mx + my * my + mz * mz)
            if norm >= NORM_MIN:
                uw, ux, uy, uz = mw / norm, mx / norm, my / norm, mz / norm
                along = uw * du_w + ux * du_x + uy * du_y + uz * du_z
                dm_w, dm_x = (du_w - uw * along) / norm, (du_x - ux * along) / norm
                dm_y, dm_z = (du_y - uy * along) / norm, (du_z - uz * along) / norm
            else:
                dm_w, dm_x = du_w / NORM_MIN, du_x / NORM_MIN
                dm_y, dm_z = du_y / NORM_MIN, du_z / NORM_MIN
            gx0, gx1, gx2 = (np.float64(v_means[i, 0]), np.float64(v_means[i, 1]),
                             np.float64(v_means[i, 2]))
            x0, x1, x2 = np.float64(means[i, 0]), np.float64(means[i, 1]), np.float64(means[i, 2])
            for j in range(k):
                row = g[indices[i, j]]
                w = np.float64(weights[i, j])
                wg0, wg1, wg2 = w * gx0, w * gx1, w * gx2
                row[C_R] += wg0 * x0
                row[C_R + 1] += wg0 * x1
                row[C_R + 2] += wg0 * x2
                row[C_R + 3] += wg1 * x0
                row[C_R + 4] += wg1 * x1
                row[C_R + 5] += wg1 * x2
                row[C_R + 6] += wg2 * x0
                row[C_R + 7] += wg2 * x1
                row[C_R + 8] += wg2 * x2
                row[C_O] += wg0
                row[C_O + 1] += wg1
                row[C_O + 2] += wg2
                row[C_Q] += w * dm_w
                row[C_Q + 1] += w * dm_x
                row[C_Q + 2] += w * dm_y
                row[C_Q + 3] += w * dm_z
    return grads


@numba.njit(cache=True)
def control_point_backward(control_points, rotations, grads):
    """Rows of dL/d(R_k, o_k, s_k r_k) [P, 16] -> (dL/dr_k [P, 4], dL/dt_k [P, 3]):

        dL/dt_k = dL/do_k,   dL/dR_k <- dL/dR_k - dL/do_k p_k^T,
        dL/dn_k from R(n) (the nine entries), dL/dr_k = (dL/dn - n (n . dL/dn)) / |r_k|
                                                        + s_k dL/d(s_k r_k).
    """
    p = control_points.shape[0]
    v_rot = np.empty((p, 4))
    v_trans = np.empty((p, 3))
    G = np.empty(9)
    for k in range(p):
        for a in range(3):
            v_trans[k, a] = grads[k, C_O + a]
            for b in range(3):
                G[3 * a + b] = grads[k, C_R + 3 * a + b] - grads[k, C_O + a] * control_points[k, b]
        w, x, y, z, inv_norm = unit_quat(rotations, k)
        through_r = rotation_backward(w, x, y, z, inv_norm, G)
        sign = -1.0 if rotations[k, 0] < 0 else 1.0
        for a in range(4):
            v_rot[k, a] = through_r[a] + sign * grads[k, C_Q + a]
    return v_rot, v_trans
