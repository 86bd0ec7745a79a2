"""Proxy tracking: fit the rig's motion on a subset of the splats, then move them all.

A splat's weight in the image is its coverage score

    score_i = o_i * exp(l_i1 + l_i2)        (opacity times the area of its widest cross-section;
                                             l_i1, l_i2: its two largest log-scales)

``proxy_subset`` keeps ``count`` splats: first the highest-scoring splat of every occupied cell
of a grid over the splat centres with about count / 2 cells (so that every part of the asset,
hence every control point, keeps splats), then splats drawn without replacement with
probability proportional to their score (Gumbel top-k, seeded) until ``count``.

``inflate_to_match`` enlarges the proxy's splats by the one factor that makes its render at rest
closest to the full asset's. ``track_with_proxy`` tracks the (inflated) proxy with the SAME rig
restricted to the proxy's splats (control points shared; the indices and weights rows of the
kept splats), so the recovered control-point motion drives every splat of the full asset by the
same skinning. The result's ``psnr`` is that of the full asset rendered with that motion; the
proxy's own is kept in ``extra["proxy_psnr"]``. On the donut a 10,000-splat proxy ran 2.2x
faster but the full asset with its motion was 16 dB below full tracking (docs/tracking.md,
"Proxy tracking"): a first pass or a preview, not the final track.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..conventions import Camera
from ..errors import ConfigError
from ..geometry import matrix_to_quat, quat_multiply
from ..loss.metrics import psnr
from ..render.api import render
from ..result import TrackResult
from ..rig import Rig
from ..splats import Splats


def coverage_scores(splats: Splats) -> torch.Tensor:
    """score_i = opacity_i * exp(l_i1 + l_i2), l_i1 and l_i2 the two largest log-scales.
    -> [N] float"""
    top2 = torch.as_tensor(splats.log_scales).detach().sort(dim=1).values[:, 1:].sum(1)
    return torch.as_tensor(splats.opacity_logits).detach().sigmoid() * top2.exp()


def coverage_subset(splats: Splats, count: int) -> Splats:
    """The ``count`` splats that cover the most image: the largest coverage_scores."""
    if count >= len(splats):
        return splats
    keep = torch.topk(coverage_scores(splats), count).indices.sort().values
    return splats.subset(keep)


def grid_cells(means: np.ndarray, cells: int) -> np.ndarray:
    """The cell of each centre [N, 3] in a grid of cubes over their bounding box, sized so the
    box holds about ``cells`` of them.  -> [N] int64 cell ids"""
    lo, hi = means.min(0), means.max(0)
    extent = np.maximum(hi - lo, 1e-9)
    side = float(np.prod(extent) / max(cells, 1)) ** (1 / 3)
    side = max(side, float(extent.max()) / max(cells, 1))       # flat or thin assets
    shape = np.maximum(1, np.ceil(extent / side)).astype(np.int64)
    ijk = np.minimum(((means - lo) / side).astype(np.int64), shape - 1)
    return (ijk[:, 0] * shape[1] + ijk[:, 1]) * shape[2] + ijk[:, 2]


def proxy_subset(splats: Splats, count: int, seed: int = 0) -> tuple[Splats, np.ndarray]:
    """(the proxy, indices [count] of its splats in ``splats``, increasing): one best splat
    per grid cell, then score-weighted draws (module docstring). All of them when count >= N."""
    n = len(splats)
    if count < 1:
        raise ConfigError(f"a proxy needs at least 1 splat, got {count}")
    if count >= n:
        return splats, np.arange(n)
    means = np.asarray(torch.as_tensor(splats.means).detach().cpu().double().numpy())
    score = coverage_scores(splats).cpu().double().numpy()
    cells = grid_cells(means, max(1, count // 2))
    order = np.lexsort((-score, cells))                        # by cell, best first
    first = order[np.r_[True, cells[order][1:] != cells[order][:-1]]]
    if first.size >= count:
        chosen = first[np.argsort(-score[first], kind="stable")[:count]]
    else:
        rng = np.random.default_rng(seed)
        keys = np.log(np.maximum(score, 1e-30)) + rng.gumbel(size=n)   # Gumbel top-k
        keys[first] = -np.inf
        extra = np.argpartition(-keys, count - first.size - 1)[:count - first.size]
        chosen = np.concatenate([first, extra])
    indices = np.sort(chosen)
    return splats.subset(indices), indices


def inflate_to_match(proxy: Splats, splats: Splats, camera: Camera, background=None,
                     backend: str = "auto", steps: int = 9) -> tuple[Splats, float]:
    """The proxy with every splat's scales multiplied by the factor s that makes its render
    closest (MSE over RGB and alpha) to the full asset's render from ``camera``, s from
    ``steps`` values spaced geometrically in [1, (N / M)^(1/2)] (N, M: splat counts; the
    upper end fills the area of the splats left out on a surface).  -> (proxy, s)"""
    full = splats.to_torch() if not torch.is_tensor(splats.means) else splats
    small = proxy.to_torch() if not torch.is_tensor(proxy.means) else proxy
    top = 0.5 * float(np.log(max(len(full), 1) / max(len(small), 1)))
    with torch.no_grad():
        ref = render(full, camera, background=background, backend=backend)
        best, best_error = 0.0, float("inf")
        for log_s in np.linspace(0.0, top, steps):
            out = render(_scaled(small, log_s), camera, background=background, backend=backend)
            error = float(((out.rgb - ref.rgb) ** 2).mean() + ((out.alpha - ref.alpha) ** 2).mean())
            if error < best_error:
                best, best_error = float(log_s), error
    return _scaled(small, best), float(np.exp(best))


def _scaled(splats: Splats, log_factor: float) -> Splats:
    return Splats(splats.means, splats.quats, splats.log_scales + log_factor,
                  splats.opacity_logits, splats.sh, splats.normals)


def restrict_rig(rig: Rig, indices: np.ndarray) -> Rig:
    """The rig of the splats ``indices`` [M]: the same control points, their rows of
    indices and weights."""
    indices = np.asarray(indices)
    return Rig(rig.control_points, rig.indices[indices], rig.weights[indices], rig.radius)


def control_point_motion(result: TrackResult, control_points: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The result's motion as control-point rotations [F, P, 4] and translations [F, P, 3]
    with the object's transform [[R, b], [0, 1]] folded in: R_k' = R R_k,
    t_k' = R (p_k + t_k) + b - p_k. Skinning with them gives R x_skinned + b, since each
    splat's weights sum to 1."""
    rotations = result.rotations.astype(np.float64)
    translations = result.translations.astype(np.float64)
    cp = np.asarray(control_points, dtype=np.float64)
    for f, matrix in enumerate(result.object_matrices.astype(np.float64)):
        rot, b = matrix[:3, :3], matrix[:3, 3]
        rotations[f] = quat_multiply(torch.as_tensor(matrix_to_quat(rot)[None]),
                                     torch.as_tensor(rotations[f])).numpy()
        translations[f] = (cp + translations[f]) @ rot.T + b - cp
    return rotations.astype(np.float32), translations.astype(np.float32)


def full_asset_psnr(splats: Splats, rig: Rig, result: TrackResult, cameras, targets,
                    background=None, backend: str = "auto") -> np.ndarray:
    """PSNR (dB, RGB) of every tracked frame of the full asset, moved by ``result``
    (control_point_motion), against its target.  -> [F]"""
    from ..deform.skinning import pose_splats

    frames = list(result.frames)
    cams = [cameras] * len(frames) if isinstance(cameras, Camera) else list(cameras)
    base = splats.to_torch() if not torch.is_tensor(splats.means) else splats
    rotations, translations = control_point_motion(result, rig.control_points)
    values = []
    with torch.no_grad():
        for i, frame in enumerate(frames):
            rgb, _ = targets(int(frame)) if callable(targets) else targets[i]
            posed = pose_splats(base, rig, rotations[i], translations[i])
            out = render(posed, cams[i], background=background, backend=backend)
            values.append(psnr(out.rgb.permute(2, 0, 1),
                               torch.as_tensor(rgb).to(out.rgb).permute(2, 0, 1)))
    return np.asarray(values, dtype=np.float32)


def track_with_proxy(splats: Splats, rig: Rig, cameras: Camera | Sequence[Camera], targets,
                     frames: Sequence[int], model: str = "direct", config=None, *,
                     proxy: int, inflate: bool = True, seed: int = 0, background=None,
                     backend: str = "auto", **kw) -> TrackResult:
    """engine.track.sequence.track_sequence on ``proxy`` splats of the asset (proxy_subset)
    with the rig restricted to them; the same arguments otherwise. With ``inflate``, the
    proxy's splats are first enlarged to render like the full asset at rest from the first
    camera (inflate_to_match), so the fit does not bend the rig to fill the gaps of a sparser asset.
    The motion returned is the rig's, for every splat; psnr is the full asset's (module
    docstring)."""
    from .sequence import track_sequence

    subset, indices = proxy_subset(splats, proxy, seed)
    factor = 1.0
    if inflate and len(subset) < len(splats):
        first = cameras if isinstance(cameras, Camera) else cameras[0]
        subset, factor = inflate_to_match(subset, splats, first, background, backend)
    result = track_sequence(subset, restrict_rig(rig, indices), cameras, targets, frames,
                            model, config, seed=seed, background=background, backend=backend,
                            **kw)
    result.extra["proxy_psnr"] = result.psnr.copy()
    result.extra["proxy_scale"] = np.asarray(factor, dtype=np.float64)
    result.extra["proxy_indices"] = indices.astype(np.int64)
    result.psnr = full_asset_psnr(splats, rig, result, cameras, targets, background, backend)
    return result


__all__ = ["coverage_scores", "coverage_subset", "grid_cells", "proxy_subset",
           "inflate_to_match", "restrict_rig", "control_point_motion", "full_asset_psnr",
           "track_with_proxy"]
