"""The CUDA backend: ``gsplat.rasterization`` (gsplat 1.5.3) with the engine's conventions.

gsplat loads here, inside ``render_gsplat``, on first use: importing the engine never
loads it. The mapping from our inputs to gsplat's:

    means, quats (normalised by gsplat)  ->  means, quats
    exp(log_scales), sigmoid(logits)     ->  scales, opacities
    sh [N, K, 3], sh_degree              ->  colors (as SH), sh_degree (+0.5, clamp at 0)
      (a viewmat with scale or shear:    ->  colors [C, N, 3] from the engine's SH rule)
    Camera.viewmat, Camera.K             ->  viewmats [C, 4, 4], Ks [C, 3, 3]
    Camera.near, Camera.far              ->  near_plane, far_plane
    background [3]                       ->  backgrounds [C, 3]

with eps2d 0.3, radius_clip 0, rasterize_mode "classic" and packed=False, which is the image
formation of the torch backend. gsplat's kernels work in float32: float64 splats are cast
down on the way in and the outputs cast back up (gradients flow through the casts).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..conventions import Camera
from ..errors import RenderError
from ..splats import Splats
from .projection import is_rotation, view_directions
from .sh import eval_sh_colors


def render_gsplat(
    splats: Splats,            # torch fields on a CUDA device
    cameras: Sequence[Camera],  # C cameras of one size
    background: Tensor,         # [3]
    sh_degree: int,
    eps2d: float = 0.3,
    packed: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """-> rgb [C, H, W, 3], alpha [C, H, W], radii [C, N, 2] int32, means2d [C, N, 2],
    depths [C, N], in the dtype of ``splats.means``."""
    try:
        import gsplat
    except ImportError as err:  # gsplat is an optional extra
        raise RenderError(f"the gsplat backend needs the gsplat package ({err}): install it with "
                          f"pip install 'spectralsplats[gsplat]', or use backend='torch'") from err
    dtype, device = splats.means.dtype, splats.means.device
    f32 = torch.float32
    width, height = cameras[0].width, cameras[0].height
    near, far = _shared_planes(cameras)
    viewmats = torch.stack([torch.as_tensor(c.viewmat, dtype=f32, device=device) for c in cameras])
    Ks = torch.stack([torch.as_tensor(c.K, dtype=f32, device=device) for c in cameras])
    colors, colour_degree = _colours(splats, viewmats, sh_degree)
    rgb, alpha, meta = gsplat.rasterization(
        means=splats.means.to(f32),
        quats=splats.quats.to(f32),
        scales=splats.log_scales.to(f32).exp(),
        opacities=splats.opacity_logits.to(f32).sigmoid(),
        colors=colors,
        viewmats=viewmats,
        Ks=Ks,
        width=width,
        height=height,
        near_plane=near,
        far_plane=far,
        radius_clip=0.0,
        eps2d=eps2d,
        sh_degree=colour_degree,
        packed=packed,
        backgrounds=background.to(f32).expand(len(cameras), 3),
        render_mode="RGB",
        rasterize_mode="classic",
    )
    radii, means2d, depths = _per_camera_meta(meta, len(cameras), len(splats), packed)
    return (rgb.to(dtype), alpha[..., 0].to(dtype), radii, means2d.to(dtype), depths.to(dtype))


def _colours(splats: Splats, viewmats: Tensor, sh_degree: int) -> tuple[Tensor, int | None]:
    """gsplat's own SH directions (means - inverse(viewmat) centre) stretch with a scaled or
    sheared object; for such viewmats [C, 4, 4] the colours [C, N, 3] are evaluated here with
    the engine's rule (projection.view_directions) and handed over as plain colours."""
    sh = splats.sh.to(torch.float32)
    if all(is_rotation(v, tol=1e-4) for v in viewmats):
        return sh, sh_degree
    means = splats.means.to(torch.float32)
    colours = [eval_sh_colors(sh, view_directions(means, v), sh_degree) for v in viewmats]
    return torch.stack(colours), None


def _shared_planes(cameras: Sequence[Camera]) -> tuple[float, float]:
    planes = {(float(c.near), float(c.far)) for c in cameras}
    if len(planes) > 1:
        raise RenderError(f"the gsplat backend renders a batch with one near and far plane, the "
                          f"cameras have {sorted(planes)}: render them separately")
    return planes.pop()


def _per_camera_meta(meta: dict, num_cameras: int, n: int, packed: bool):
    """gsplat's meta -> radii [C, N, 2] int32, means2d [C, N, 2], depths [C, N] (0 = culled)."""
    radii = meta["radii"]
    if not packed:
        visible = (radii > 0).all(dim=-1, keepdim=True)
        return (radii.to(torch.int32), meta["means2d"] * visible, meta["depths"] * visible[..., 0])
    cam, gid = meta["camera_ids"].long(), meta["gaussian_ids"].long()
    device = radii.device
    full_radii = torch.zeros(num_cameras, n, 2, dtype=torch.int32, device=device)
    full_radii[cam, gid] = radii.to(torch.int32)
    full_means = torch.zeros(num_cameras, n, 2, dtype=meta["means2d"].dtype, device=device)
    full_means = full_means.index_put((cam, gid), meta["means2d"])
    full_depths = torch.zeros(num_cameras, n, dtype=meta["depths"].dtype, device=device)
    full_depths = full_depths.index_put((cam, gid), meta["depths"])
    return full_radii, full_means, full_depths
