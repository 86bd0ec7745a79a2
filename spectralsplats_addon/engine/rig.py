"""The control-point rig: farthest point sampling and skinning weights (numpy only).

Control points p_k are chosen by farthest point sampling over the splat centres. Each splat
is bound to its K nearest control points with weights

    w_ik = exp(-d_ik^2 / 2 r^2) / sum_k' exp(-d_ik'^2 / 2 r^2),

where r is the control-point spacing (the mean distance from a control point to its nearest
neighbour). The weights are normalised in log space, so a splat far from every control point
still gets finite weights that sum to 1.

Skinning with these weights (engine/deform/skinning.py) is
x' = sum_k w_k (R_k (x - p_k) + p_k + t_k), which is what Blender's Armature modifier does
with one bone per control point, head at p_k.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import RigError
from .npz_limits import npz_size_problem

DEFAULT_CONTROL_POINTS = 512
DEFAULT_NEIGHBOURS = 4
MIN_SPLATS_PER_CONTROL_POINT = 8  # small assets get fewer control points


@dataclass
class Rig:
    """control_points: [P, 3] object-local; indices: [N, K] int32; weights: [N, K] float32
    (rows sum to 1); radius: the r of the weights."""

    control_points: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    radius: float

    @property
    def num_control_points(self) -> int:
        return int(self.control_points.shape[0])

    def save(self, path) -> None:
        """To a path (np.savez adds .npz to a name without it) or an open binary file."""
        np.savez(path if hasattr(path, "write") else Path(path),
                 control_points=self.control_points, indices=self.indices,
                 weights=self.weights, radius=np.float64(self.radius))

    @classmethod
    def load(cls, path) -> "Rig":
        """RigError (a ValueError) for a file whose arrays claim far more than its size
        (engine/npz_limits.py)."""
        problem = npz_size_problem(path)
        if problem is not None:
            raise RigError(problem)
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(data["control_points"], data["indices"], data["weights"],
                       float(data["radius"]))


def control_point_count(num_splats: int, requested: int = DEFAULT_CONTROL_POINTS) -> int:
    """min(requested, num_splats // 8), at least 1: small assets get fewer control points."""
    if requested < 1:
        raise RigError(f"the number of control points must be at least 1, got {requested}")
    return max(1, min(requested, num_splats // MIN_SPLATS_PER_CONTROL_POINT))


def farthest_point_sampling(points: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Indices [count] of points [N, 3] chosen by farthest point sampling.

    The first index is drawn from a seeded generator; each next one is the point farthest
    from those chosen (ties: lowest index). Deterministic for a given seed.
    """
    points = np.asarray(points, dtype=np.float64)
    n = points.shape[0]
    if not 1 <= count <= n:
        raise RigError(f"cannot sample {count} of {n} points")
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = np.random.default_rng(seed).integers(n)
    nearest = np.sum((points - points[chosen[0]]) ** 2, axis=1)
    for i in range(1, count):
        chosen[i] = int(np.argmax(nearest))
        np.minimum(nearest, np.sum((points - points[chosen[i]]) ** 2, axis=1), out=nearest)
    return chosen


def nearest_control_points(points: np.ndarray, control_points: np.ndarray, k: int,
                           chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """For points [N, 3]: the k nearest control points [P, 3] -> (indices [N, k], squared
    distances [N, k]), nearest first. Chunked: memory is chunk x P."""
    k = min(k, control_points.shape[0])
    indices = np.empty((points.shape[0], k), dtype=np.int32)
    dist2 = np.empty((points.shape[0], k), dtype=np.float64)
    cp = np.asarray(control_points, dtype=np.float64)
    cp_sq = np.sum(cp ** 2, axis=1)
    for start in range(0, points.shape[0], chunk):
        x = np.asarray(points[start:start + chunk], dtype=np.float64)
        d2 = np.maximum(np.sum(x ** 2, axis=1)[:, None] - 2 * x @ cp.T + cp_sq[None, :], 0.0)
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < cp.shape[0] else \
            np.broadcast_to(np.arange(cp.shape[0]), d2.shape)
        part_d2 = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(part_d2, axis=1, kind="stable")
        indices[start:start + chunk] = np.take_along_axis(part, order, axis=1)
        dist2[start:start + chunk] = np.take_along_axis(part_d2, order, axis=1)
    return indices, dist2


def control_point_spacing(control_points: np.ndarray) -> float:
    """Mean distance from each control point to its nearest other control point."""
    if control_points.shape[0] < 2:
        return 1.0
    _, d2 = nearest_control_points(control_points, control_points, 2)
    return float(np.mean(np.sqrt(d2[:, 1])))


def skinning_weights(dist2: np.ndarray, radius: float) -> np.ndarray:
    """[N, K] squared distances -> normalised weights exp(-d^2 / 2r^2) (log-space softmax)."""
    logits = -np.asarray(dist2, dtype=np.float64) / (2.0 * radius ** 2)
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def build_rig(means: np.ndarray, num_control_points: int = DEFAULT_CONTROL_POINTS,
              neighbours: int = DEFAULT_NEIGHBOURS, seed: int = 0) -> Rig:
    """Control points by FPS over means [N, 3]; each splat bound to its nearest `neighbours`."""
    means = np.asarray(means)
    if means.ndim != 2 or means.shape[1] != 3 or means.shape[0] == 0:
        raise RigError(f"build_rig needs splat centres [N, 3] with N > 0, got {means.shape}")
    if not np.isfinite(means).all():
        raise RigError("splat centres hold NaN or Inf: read the file with drop_invalid=True")
    if neighbours < 1:
        raise RigError(f"each splat needs at least 1 control point, got K={neighbours}")
    count = control_point_count(means.shape[0], num_control_points)
    control_points = means[farthest_point_sampling(means, count, seed)].astype(np.float32)
    radius = control_point_spacing(control_points)
    indices, dist2 = nearest_control_points(means, control_points, neighbours)
    return Rig(control_points, indices, skinning_weights(dist2, radius), radius)
