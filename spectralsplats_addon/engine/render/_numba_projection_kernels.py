"""Compiled CPU kernels of the EWA projection (Numba); ``projection_numba`` wraps them.

The maths of ``projection.project_gaussians`` (its module docstring), splat by splat in
float64, with 3 x 3 matrices held as row-major 9-tuples (registers, no allocation per
splat). With q^ = q / |q|, R = R(q^), s = exp(log_s), W the camera rotation:

    M = R diag(s),  A = W M,  B = J A  [2, 3]
    cov2d = B B^T = J W Sigma W^T J^T          (Sigma = M M^T; the same product, regrouped)

The backward pass recomputes every intermediate from the inputs (nothing is saved but the
visibility mask) and applies, with v the upstream gradients and G the gradient of the
blurred cov2d (G_xy split evenly between cov2d_01 and cov2d_10):

    conic = (yy, -xy, xx) / det:  v_det = -(v_a a + v_b b + v_c c) / det
        G_xx = v_c / det + v_det yy,  G_yy = v_a / det + v_det xx,  G_xy = -v_b / det - 2 v_det xy
    cov2d = B B^T:   v_B = 2 G B                  (G symmetric, off-diagonals G_xy / 2)
    B = J A:         v_J = v_B A^T,  v_A = J^T v_B
    A = W M:         v_M = W^T v_A;  v_R = v_M diag(s),  v_log_s_j = s_j sum_k v_M_kj R_kj
    q^ = q / |q|:    v_q = (v_q^ - q^ (q^ . v_q^)) / |q|
    J = [[fx / z, 0, -fx tx / z^2], [0, fy / z, -fy ty / z^2]],  tx = z clamp(x / z):
        d tx / dx = c',  d tx / dz = clamp(x / z) - c' x / z   (c' = 1 inside, 0 clamped,
        1/2 exactly at a limit, as torch's maximum/minimum give)
    means_cam = W mu + t:  v_mu = W^T v_means_cam (after the means2d, depth and J terms)

Culled splats send only their means_cam gradient back (to the means); quats and log_scales
get exactly zero there. Every splat writes only its own rows: no shared buffers, the same
inputs give the same bits. Division follows IEEE rules (error_model="numpy"), as torch's
does: a zero-length quaternion gives NaN, fails the determinant test and is culled, as in
the reference, instead of raising inside the kernel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .numba_helpers import rotation, rotation_backward, unit_quat
from .projection import ALPHA_THRESHOLD, FOV_CLAMP_MARGIN, MAX_EXTEND


@numba.njit(cache=True, error_model="numpy")
def clamp_limits(K, width, height):
    """-> (lim_x_neg, lim_x_pos, lim_y_neg, lim_y_pos): x / z is kept in [-lim_x_neg,
    lim_x_pos], 30% of the half field of view past the image edges (y likewise)."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    return (cx / fx + FOV_CLAMP_MARGIN * tan_fovx, (width - cx) / fx + FOV_CLAMP_MARGIN * tan_fovx,
            cy / fy + FOV_CLAMP_MARGIN * tan_fovy, (height - cy) / fy + FOV_CLAMP_MARGIN * tan_fovy)


@numba.njit(cache=True, error_model="numpy")
def _mul33(a, b):
    """a b for row-major 9-tuples."""
    return (a[0] * b[0] + a[1] * b[3] + a[2] * b[6], a[0] * b[1] + a[1] * b[4] + a[2] * b[7],
            a[0] * b[2] + a[1] * b[5] + a[2] * b[8],
            a[3] * b[0] + a[4] * b[3] + a[5] * b[6], a[3] * b[1] + a[4] * b[4] + a[5] * b[7],
            a[3] * b[2] + a[4] * b[5] + a[5] * b[8],
            a[6] * b[0] + a[7] * b[3] + a[8] * b[6], a[6] * b[1] + a[7] * b[4] + a[8] * b[7],
            a[6] * b[2] + a[7] * b[5] + a[8] * b[8])


@numba.njit(cache=True, error_model="numpy")
def _tmul33(a, b):
    """a^T b for row-major 9-tuples."""
    return (a[0] * b[0] + a[3] * b[3] + a[6] * b[6], a[0] * b[1] + a[3] * b[4] + a[6] * b[7],
            a[0] * b[2] + a[3] * b[5] + a[6] * b[8],
            a[1] * b[0] + a[4] * b[3] + a[7] * b[6], a[1] * b[1] + a[4] * b[4] + a[7] * b[7],
            a[1] * b[2] + a[4] * b[5] + a[7] * b[8],
            a[2] * b[0] + a[5] * b[3] + a[8] * b[6], a[2] * b[1] + a[5] * b[4] + a[8] * b[7],
            a[2] * b[2] + a[5] * b[5] + a[8] * b[8])


@numba.njit(cache=True, error_model="numpy")
def _camera_factor(rot_w, quats, log_scales, i):
    """-> A = W R diag(s) (cov_cam = A A^T), R, s and the unit quaternion with 1 / |q|."""
    w, x, y, z, inv_norm = unit_quat(quats, i)
    r = rotation(w, x, y, z)
    s0, s1, s2 = math.exp(log_scales[i, 0]), math.exp(log_scales[i, 1]), math.exp(log_scales[i, 2])
    m = (r[0] * s0, r[1] * s1, r[2] * s2, r[3] * s0, r[4] * s1, r[5] * s2,
         r[6] * s0, r[7] * s1, r[8] * s2)
    return _mul33(rot_w, m), r, (s0, s1, s2), (w, x, y, z, inv_norm)


@numba.njit(cache=True, error_model="numpy")
def _clamp(u, lo, hi):
    """min(max(u, lo), hi) and its derivative in u, with torch's half at a tie."""
    if u > lo:
        v, dv = u, 1.0
    elif u == lo:
        v, dv = u, 0.5
    else:
        v, dv = lo, 0.0
    if v < hi:
        return v, dv
    if v == hi:
        return v, 0.5 * dv
    return hi, 0.0


@numba.njit(cache=True, error_model="numpy")
def _jacobian(x, y, z, fx, fy, limits):
    """-> (j00, j02, j11, j12) of J at the clamped centre and (d tx/dx, d tx/dz, d ty/dy,
    d ty/dz)."""
    ux, dux = _clamp(x / z, -limits[0], limits[1])
    uy, duy = _clamp(y / z, -limits[2], limits[3])
    tx, ty = z * ux, z * uy
    jac = (fx / z, -fx * tx / (z * z), fy / z, -fy * ty / (z * z))
    return jac, (dux, ux - dux * (x / z), duy, uy - duy * (y / z)), tx, ty


@numba.njit(cache=True, error_model="numpy")
def _image_factor(jac, a):
    """B = J A [2, 3] as a 6-tuple (J's zero entries skipped)."""
    j00, j02, j11, j12 = jac
    return (j00 * a[0] + j02 * a[6], j00 * a[1] + j02 * a[7], j00 * a[2] + j02 * a[8],
            j11 * a[3] + j12 * a[6], j11 * a[4] + j12 * a[7], j11 * a[5] + j12 * a[8])


@numba.njit(cache=True, error_model="numpy")
def _blurred_cov2d(b, eps2d):
    """-> (xx, xy, yy) of B B^T + eps2d I."""
    xx = b[0] * b[0] + b[1] * b[1] + b[2] * b[2] + eps2d
    yy = b[3] * b[3] + b[4] * b[4] + b[5] * b[5] + eps2d
    xy = b[0] * b[3] + b[1] * b[4] + b[2] * b[5]
    return xx, xy, yy


@numba.njit(cache=True, error_model="numpy")
def _to_camera(viewmat, means, i):
    p0, p1, p2 = means[i, 0], means[i, 1], means[i, 2]
    return (viewmat[0, 0] * p0 + viewmat[0, 1] * p1 + viewmat[0, 2] * p2 + viewmat[0, 3],
            viewmat[1, 0] * p0 + viewmat[1, 1] * p1 + viewmat[1, 2] * p2 + viewmat[1, 3],
            viewmat[2, 0] * p0 + viewmat[2, 1] * p1 + viewmat[2, 2] * p2 + viewmat[2, 3])


@numba.njit(cache=True, error_model="numpy")
def _rotation_of(viewmat):
    return (viewmat[0, 0], viewmat[0, 1], viewmat[0, 2], viewmat[1, 0], viewmat[1, 1],
            viewmat[1, 2], viewmat[2, 0], viewmat[2, 1], viewmat[2, 2])


@numba.njit(parallel=True, cache=True, error_model="numpy")
def forward(means, quats, log_scales, opacities, viewmat, K, width, height, near, far, eps2d,
            radius_clip):
    """-> means2d [N, 2], conics [N, 3], depths [N], radii [N, 2] int32 (all zero where
    culled), means_cam [N, 3] and visible [N] bool."""
    n = means.shape[0]
    means2d = np.zeros((n, 2))
    conics = np.zeros((n, 3))
    depths = np.zeros(n)
    radii = np.zeros((n, 2), dtype=np.int32)
    means_cam = np.empty((n, 3))
    visible = np.zeros(n, dtype=np.bool_)
    rot_w = _rotation_of(viewmat)
    limits = clamp_limits(K, width, height)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    for i in numba.prange(n):
        x, y, z = _to_camera(viewmat, means, i)
        means_cam[i, 0], means_cam[i, 1], means_cam[i, 2] = x, y, z
        o = opacities[i]
        if not (z >= near and z <= far and o >= ALPHA_THRESHOLD):
            continue
        a = _camera_factor(rot_w, quats, log_scales, i)[0]
        jac = _jacobian(x, y, z, fx, fy, limits)[0]
        xx, xy, yy = _blurred_cov2d(_image_factor(jac, a), eps2d)
        det = xx * yy - xy * xy
        if not det > 0.0:
            continue
        extend = min(math.sqrt(2.0 * math.log(o / ALPHA_THRESHOLD)), MAX_EXTEND)
        rx = np.ceil(extend * math.sqrt(max(xx, 0.0)))
        ry = np.ceil(extend * math.sqrt(max(yy, 0.0)))
        mx = fx * x / z + cx
        my = fy * y / z + cy
        on_screen = mx + rx > 0 and mx - rx < width and my + ry > 0 and my - ry < height
        if not (on_screen and (rx > radius_clip or ry > radius_clip)):
            continue
        visible[i] = True
        means2d[i, 0], means2d[i, 1] = mx, my
        conics[i, 0], conics[i, 1], conics[i, 2] = yy / det, -xy / det, xx / det
        depths[i] = z
        radii[i, 0], radii[i, 1] = int(rx), int(ry)
    return means2d, conics, depths, radii, means_cam, visible


@numba.njit(parallel=True, cache=True, error_model="numpy")
def backward(means, quats, log_scales, viewmat, K, width, height, eps2d, visible,
             v_means2d, v_conics, v_depths, v_means_cam):
    """-> gradients of means [N, 3], quats [N, 4], log_scales [N, 3] (module docstring)."""
    n = means.shape[0]
    v_means = np.empty((n, 3))
    v_quats = np.zeros((n, 4))
    v_log_scales = np.zeros((n, 3))
    rot_w = _rotation_of(viewmat)
    limits = clamp_limits(K, width, height)
    fx, fy = K[0, 0], K[1, 1]
    for i in numba.prange(n):
        v_x, v_y, v_z = v_means_cam[i, 0], v_means_cam[i, 1], v_means_cam[i, 2]
        if visible[i]:
            x, y, z = _to_camera(viewmat, means, i)
            a, r, s, q = _camera_factor(rot_w, quats, log_scales, i)
            jac, d_t, tx, ty = _jacobian(x, y, z, fx, fy, limits)
            b = _image_factor(jac, a)
            xx, xy, yy = _blurred_cov2d(b, eps2d)
            det = xx * yy - xy * xy
            # depth and the perspective divide of the centre
            v_z += v_depths[i]
            v_mx, v_my = v_means2d[i, 0], v_means2d[i, 1]
            v_x += fx / z * v_mx
            v_y += fy / z * v_my
            v_z -= (fx * x * v_mx + fy * y * v_my) / (z * z)
            # conic = inverse of the blurred cov2d
            v_a, v_b, v_c = v_conics[i, 0], v_conics[i, 1], v_conics[i, 2]
            v_det = -(v_a * yy - v_b * xy + v_c * xx) / (det * det)
            g_xx = v_c / det + v_det * yy
            g_yy = v_a / det + v_det * xx
            g_xy = -v_b / det - 2.0 * v_det * xy
            # cov2d = B B^T
            vb = (2.0 * g_xx * b[0] + g_xy * b[3], 2.0 * g_xx * b[1] + g_xy * b[4],
                  2.0 * g_xx * b[2] + g_xy * b[5], 2.0 * g_yy * b[3] + g_xy * b[0],
                  2.0 * g_yy * b[4] + g_xy * b[1], 2.0 * g_yy * b[5] + g_xy * b[2])
            # B = J A
            j00, j02, j11, j12 = jac
            v_j00 = vb[0] * a[0] + vb[1] * a[1] + vb[2] * a[2]
            v_j02 = vb[0] * a[6] + vb[1] * a[7] + vb[2] * a[8]
            v_j11 = vb[3] * a[3] + vb[4] * a[4] + vb[5] * a[5]
            v_j12 = vb[3] * a[6] + vb[4] * a[7] + vb[5] * a[8]
            va = (j00 * vb[0], j00 * vb[1], j00 * vb[2], j11 * vb[3], j11 * vb[4], j11 * vb[5],
                  j02 * vb[0] + j12 * vb[3], j02 * vb[1] + j12 * vb[4], j02 * vb[2] + j12 * vb[5])
            # J from the clamped centre
            z2 = z * z
            v_z += (-(fx * v_j00 + fy * v_j11) / z2
                    + 2.0 * (fx * tx * v_j02 + fy * ty * v_j12) / (z2 * z))
            v_tx = -fx / z2 * v_j02
            v_ty = -fy / z2 * v_j12
            v_x += v_tx * d_t[0]
            v_z += v_tx * d_t[1] + v_ty * d_t[3]
            v_y += v_ty * d_t[2]
            # A = W R diag(s)
            vm = _tmul33(rot_w, va)
            for j in range(3):
                v_log_scales[i, j] = s[j] * (vm[j] * r[j] + vm[3 + j] * r[3 + j]
                                             + vm[6 + j] * r[6 + j])
            vr = (vm[0] * s[0], vm[1] * s[1], vm[2] * s[2], vm[3] * s[0], vm[4] * s[1],
                  vm[5] * s[2], vm[6] * s[0], vm[7] * s[1], vm[8] * s[2])
            v_quats[i, 0], v_quats[i, 1], v_quats[i, 2], v_quats[i, 3] = rotation_backward(
                q[0], q[1], q[2], q[3], q[4], vr)
        v_means[i, 0] = rot_w[0] * v_x + rot_w[3] * v_y + rot_w[6] * v_z
        v_means[i, 1] = rot_w[1] * v_x + rot_w[4] * v_y + rot_w[7] * v_z
        v_means[i, 2] = rot_w[2] * v_x + rot_w[5] * v_y + rot_w[8] * v_z
    return v_means, v_quats, v_log_scales
