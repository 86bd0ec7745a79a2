"""``render()``: the one entry point that turns splats and cameras into images.

Pipeline of the CPU backends ("torch", "numba"), per camera: EWA projection
(``projection.project_gaussians``; for "numba" its compiled twin ``projection_numba``),
view-dependent colour from the SH coefficients (``sh.eval_sh_colors``, directions from
``projection.view_directions``: the SH turn with the object, never stretch), then a
rasterizer with the contract of ``rasterize_torch``.
The "gsplat" backend runs the same image formation in gsplat's CUDA kernels
(``gsplat_backend``).

A camera that sees no splat (all behind it, beyond far, or off screen) gives the
background with alpha 0; that is not an error.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch
from torch import Tensor

from ..conventions import Camera
from ..errors import RenderError
from ..splats import Splats, sh_degree_from_coeffs
from .projection import mass_ratio, project_gaussians, view_directions
from .rasterize_torch import rasterize_torch
from .sh import eval_sh_colors

Backend = Literal["auto", "torch", "numba", "gsplat"]
BACKENDS: tuple[str, ...] = ("auto", "torch", "numba", "gsplat")
EPS2D = 0.3  # the 2D blur added to every projected covariance (pixels^2), as in 3DGS


@dataclass
class RenderOutput:
    """What ``render`` returns; the leading C is there only when a list of cameras was given.

    rgb:     [H, W, 3] or [C, H, W, 3] composited colour, background included
    alpha:   [H, W] or [C, H, W] coverage, 1 - final transmittance
    radii:   [N, 2] or [C, N, 2] int32 box half-extents (0 = culled in that camera)
    means2d: [N, 2] or [C, N, 2] projected centres in pixels (0 where culled)
    depths:  [N] or [C, N] camera-space z (0 where culled)
    backend: the backend that ran ("torch", "numba" or "gsplat")
    """

    rgb: Tensor
    alpha: Tensor
    radii: Tensor
    means2d: Tensor
    depths: Tensor
    backend: str


def render(
    splats: Splats,                          # torch fields, one device, float32 or float64
    camera: Camera | Sequence[Camera],       # one camera, or a list of same-size cameras
    background: Tensor | Sequence[float] | None = None,  # [3]; None = black
    backend: Backend = "auto",
    sh_degree: int | None = None,            # None = every degree the splats have
    eps2d: float = EPS2D,                    # blur added to every 2D covariance (px^2)
    mass_eps2d: float | None = None,         # None, or the blur whose alpha mass to keep
) -> RenderOutput:
    """Renders the splats from each camera; differentiable in means, quats, log_scales,
    opacity_logits, sh (and background).

    backend "auto" is "gsplat" for splats on a CUDA device, else "numba" on the CPU where
    its rasterizer imports, else "torch".

        >>> out = render(splats, camera)                      # camera: 64 x 48
        >>> out.rgb.shape, out.alpha.shape
        (torch.Size([48, 64, 3]), torch.Size([48, 64]))
        >>> render(splats, [camera, camera]).rgb.shape
        torch.Size([2, 48, 64, 3])

    Raises RenderError for splats that are not torch tensors on one device in one float
    dtype, mismatched shapes, NaN/Inf or zero-length quaternions (naming the field), a bad
    background or sh_degree, cameras of different sizes, or an unknown or unusable backend.

    eps2d and mass_eps2d serve renders at reduced resolution (engine/loss/multires.py): with
    mass_eps2d set, each splat's opacity is scaled by sqrt(det(M + (mass_eps2d - eps2d) I) /
    det M) (M its blurred 2D covariance, no gradient through the factor), so it carries the
    alpha mass it would have with mass_eps2d of blur. The CPU backends only.
    """
    cameras = _camera_list(camera)
    ref = _check_splats(splats)
    degree = _resolve_sh_degree(splats, sh_degree)
    bg = _background(background, ref)
    chosen = resolve_backend(backend, ref.device)
    if chosen == "gsplat" and (eps2d != EPS2D or mass_eps2d is not None):
        raise RenderError("eps2d and mass_eps2d are for the CPU backends: use backend='numba' "
                          "or 'torch' for reduced-resolution renders")
    if chosen == "gsplat":
        from .gsplat_backend import render_gsplat  # loads gsplat only now

        rgb, alpha, radii, means2d, depths = render_gsplat(splats, cameras, bg, degree, eps2d=EPS2D)
    else:
        if chosen == "numba":
            rasterize, project = _numba_rasterizer(required=True), _numba_projection()
        else:
            rasterize, project = rasterize_torch, project_gaussians
        per_camera = [_render_one(splats, cam, bg, degree, rasterize, eps2d, mass_eps2d, project)
                      for cam in cameras]
        rgb, alpha, radii, means2d, depths = (torch.stack(list(t)) for t in zip(*per_camera))
    if isinstance(camera, Camera):
        rgb, alpha, radii, means2d, depths = rgb[0], alpha[0], radii[0], means2d[0], depths[0]
    return RenderOutput(rgb, alpha, radii, means2d, depths, chosen)


def _render_one(splats: Splats, cam: Camera, background: Tensor, degree: int,
                rasterize: Callable, eps2d: float = EPS2D, mass_eps2d: float | None = None,
                project: Callable = project_gaussians) -> tuple[Tensor, ...]:
    """One camera: ``project`` (the EWA projection, torch or compiled), SH colours, then
    ``rasterize``. -> rgb [H, W, 3], alpha [H, W], radii [N, 2], means2d [N, 2], depths [N]."""
    dtype, device = splats.means.dtype, splats.means.device
    viewmat = torch.as_tensor(cam.viewmat, dtype=dtype, device=device)
    K = torch.as_tensor(cam.K, dtype=dtype, device=device)
    opacities = splats.opacity_logits.sigmoid()
    proj = project(splats.means, splats.quats, splats.log_scales, opacities, viewmat, K,
                   cam.width, cam.height, near=cam.near, far=cam.far, eps2d=eps2d)
    if mass_eps2d is not None:
        opacities = opacities * mass_ratio(proj.conics, mass_eps2d - eps2d)
    colors = eval_sh_colors(splats.sh, view_directions(splats.means, viewmat), degree)
    rgb, alpha = rasterize(proj.means2d, proj.conics, colors, opacities, proj.depths, proj.radii,
                           cam.width, cam.height, background)
    return rgb, alpha, proj.radii, proj.means2d, proj.depths


def resolve_backend(backend: str, device: torch.device) -> str:
    """The backend that runs for ``backend`` with tensors on ``device`` (errors if unusable)."""
    if backend not in BACKENDS:
        raise RenderError(f"unknown render backend {backend!r}: use one of {', '.join(BACKENDS)}")
    on_cuda = torch.device(device).type == "cuda"
    if backend == "auto":
        if on_cuda:
            return "gsplat"
        if torch.device(device).type == "cpu" and _numba_rasterizer(required=False) is not None:
            return "numba"
        return "torch"
    if backend == "gsplat" and not on_cuda:
        raise RenderError(f"the gsplat backend needs the splats on a CUDA device, they are on "
                          f"{device}: move them with splats.to_torch(device='cuda') or use "
                          f"backend='torch'")
    if backend == "numba" and torch.device(device).type != "cpu":
        raise RenderError(f"the numba backend runs on the CPU, the splats are on {device}: "
                          f"use backend='torch' or 'gsplat'")
    return backend


def _numba_rasterizer(required: bool) -> Callable | None:
    """The compiled CPU rasterizer, or None (or a RenderError if required) where it is missing."""
    try:
        module = importlib.import_module(".rasterize_numba", __package__)
    except ImportError as err:
        if required:
            raise RenderError(f"the numba backend is not available ({err}); "
                              f"use backend='torch'") from err
        return None
    return module.rasterize_numba


def _numba_projection() -> Callable:
    """The compiled CPU projection (its module loads numba: imported only when used)."""
    return importlib.import_module(".projection_numba", __package__).project_gaussians_numba


def _camera_list(camera) -> list[Camera]:
    cameras = [camera] if isinstance(camera, Camera) else list(camera)
    if not cameras:
        raise RenderError("render needs at least one camera, got an empty list")
    for cam in cameras:
        if not isinstance(cam, Camera):
            raise RenderError(f"render takes engine Camera objects, got {type(cam).__name__}: "
                              f"build one with conventions.camera_from_blender")
    sizes = {(cam.width, cam.height) for cam in cameras}
    if len(sizes) > 1:
        raise RenderError(f"cameras rendered together must share one image size, got "
                          f"{sorted(sizes)}: render them separately or use Camera.resized")
    return cameras


_FIELDS = ("means", "quats", "log_scales", "opacity_logits", "sh")


def _check_splats(splats: Splats) -> Tensor:
    """Checks types, shapes, device, dtype and values; returns the means (the reference)."""
    if not isinstance(splats, Splats):
        raise RenderError(f"render takes a Splats object, got {type(splats).__name__}")
    for name in _FIELDS:
        if not torch.is_tensor(getattr(splats, name)):
            raise RenderError(f"Splats.{name} is not a torch tensor: call splats.to_torch() first")
    ref = splats.means
    if ref.dtype not in (torch.float32, torch.float64):
        raise RenderError(f"Splats.means is {ref.dtype}: render needs float32 or float64")
    n = ref.shape[0] if ref.ndim == 2 else -1
    expected = {"means": (n, 3), "quats": (n, 4), "log_scales": (n, 3), "opacity_logits": (n,)}
    for name, shape in expected.items():
        got = tuple(getattr(splats, name).shape)
        if got != shape:
            raise RenderError(f"Splats.{name} has shape {got}, expected {shape}"
                              + (f" for N={n}" if n >= 0 else ""))
    sh_shape = tuple(splats.sh.shape)
    if len(sh_shape) != 3 or sh_shape[0] != n or sh_shape[2] != 3:
        raise RenderError(f"Splats.sh has shape {sh_shape}, expected [N={n}, (d+1)^2, 3]")
    try:
        sh_degree_from_coeffs(sh_shape[1])
    except ValueError as err:
        raise RenderError(f"Splats.sh: {err}") from None
    for name in _FIELDS:
        value = getattr(splats, name)
        if value.device != ref.device or value.dtype != ref.dtype:
            raise RenderError(f"Splats.{name} is {value.dtype} on {value.device}, Splats.means "
                              f"is {ref.dtype} on {ref.device}: convert all fields with "
                              f"splats.to_torch()")
        if not _all_finite(value):
            bad = int((~torch.isfinite(value)).reshape(n, -1).any(dim=1).nonzero()[0, 0])
            raise RenderError(f"Splats.{name} holds NaN or Inf (first at splat {bad}): "
                              f"fix or drop those splats before rendering")
    zero = splats.quats.detach().norm(dim=-1) == 0
    if bool(zero.any()):
        raise RenderError(f"Splats.quats has {int(zero.sum())} zero-length quaternion(s) "
                          f"(first at splat {int(zero.nonzero()[0, 0])}): they name no rotation; "
                          f"set them to (1, 0, 0, 0)")
    return ref


def _all_finite(value: Tensor) -> bool:
    """True iff no NaN or Inf: one float64 sum first (NaN or Inf anywhere makes it non-finite,
    and float32 values cannot overflow it), the element-wise test only where it is not."""
    if bool(torch.isfinite(value.sum(dtype=torch.float64))):
        return True
    return bool(torch.isfinite(value).all())


def _resolve_sh_degree(splats: Splats, sh_degree: int | None) -> int:
    have = splats.sh_degree
    if sh_degree is None:
        return have
    if isinstance(sh_degree, bool) or not isinstance(sh_degree, int) or not 0 <= sh_degree <= have:
        raise RenderError(f"sh_degree {sh_degree!r} is not available: the splats have SH degree "
                          f"{have}, use 0 to {have} or None")
    return sh_degree


def _background(background, ref: Tensor) -> Tensor:
    if background is None:
        return torch.zeros(3, dtype=ref.dtype, device=ref.device)
    bg = torch.as_tensor(background, dtype=ref.dtype, device=ref.device) \
        if not torch.is_tensor(background) else background.to(device=ref.device, dtype=ref.dtype)
    if tuple(bg.shape) != (3,):
        raise RenderError(f"background has shape {tuple(bg.shape)}, expected (3,): one RGB colour")
    if not bool(torch.isfinite(bg).all()):
        raise RenderError("background holds NaN or Inf: give a finite RGB colour")
    return bg
