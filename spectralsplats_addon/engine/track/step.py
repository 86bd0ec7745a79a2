"""The objective of one tracking step, shared by the deformation tracker (track/sequence.py)
and the rigid tracker (track/rigid.py): the target image, the loss of one step by phase
(spectral moments, then spatial; or spatial only for "pixel"), and the optimiser.
"""

from __future__ import annotations

from typing import Literal

import torch

from ..config import TrackingConfig
from ..conventions import Camera
from ..errors import LossInputError
from ..loss.multires import ResolutionPyramid, apply_mass_gain, render_level
from ..loss.schedule import schedule_at
from ..loss.spatial import spatial_loss
from ..loss.spectral import spectral_loss
from ..render.api import render
from ..splats import Splats
from ..vocabulary import LOSSES
from .plate import Plate

LossMode = Literal["spectral", "pixel"]
LOSS_MODES: tuple[str, ...] = LOSSES


def target_image(rgb: torch.Tensor, alpha: torch.Tensor | None, supervise_alpha: bool
                 ) -> torch.Tensor:
    """[H, W, 3] colour (+ [H, W] alpha) -> [C, H, W] with C = 4 when alpha is used, else 3."""
    if rgb.dim() != 3 or rgb.shape[-1] != 3:
        raise LossInputError(f"a target frame is [H, W, 3] RGB in [0, 1], got shape "
                             f"{tuple(rgb.shape)}")
    channels = [rgb.permute(2, 0, 1)]
    if alpha is not None and supervise_alpha:
        if tuple(alpha.shape) != tuple(rgb.shape[:2]):
            raise LossInputError(f"target alpha {tuple(alpha.shape)} must be [H, W] = "
                                 f"{tuple(rgb.shape[:2])}, the size of its RGB")
        channels.append(alpha[None])
    return torch.cat(channels, 0)


def check_target(target: torch.Tensor, camera: Camera) -> None:
    if tuple(target.shape[-2:]) != (camera.height, camera.width):
        raise LossInputError(f"target frame is {target.shape[-1]} x {target.shape[-2]} (W x H) "
                             f"but the camera renders {camera.width} x {camera.height}: resize "
                             f"the frame or use camera.resized(w, h)")


class VectorAdam(torch.optim.Optimizer):
    """Adam with the second moment per vector (the last dimension), after Ling, Sharp and
    Jacobson (2022). Plain Adam moves every coordinate by about the learning rate whatever
    the size of its gradient, so the depth and the out-of-plane rotation, which one view
    barely constrains, drift as fast as the image-plane motion; normalising by the vector's
    gradient norm keeps the gradient's direction:

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) |g|^2,
        p <- p - lr (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p[..., :1])
                state["step"] += 1
                k, g = state["step"], p.grad
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).add_((g * g).sum(-1, keepdim=True), alpha=1 - b2)
                m_hat = state["m"] / (1 - b1 ** k)
                v_hat = state["v"] / (1 - b2 ** k)
                p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


def _stack(rgb: torch.Tensor, alpha: torch.Tensor, with_alpha: bool) -> torch.Tensor:
    """rgb [H, W, 3], alpha [H, W] -> [C, H, W], C = 4 with alpha, else 3."""
    channels = [rgb.permute(2, 0, 1)] + ([alpha[None]] if with_alpha else [])
    return torch.cat(channels, 0)


def _rendered_image(splats: Splats, camera: Camera, with_alpha: bool, background,
                    backend: str, plate: Plate | None = None) -> torch.Tensor:
    if plate is None:
        out = render(splats, camera, background=background, backend=backend)
        return _stack(out.rgb, out.alpha, with_alpha)
    out = render(splats, camera, backend=backend)
    return _stack(plate.over(out.rgb, out.alpha, 1, background), out.alpha, with_alpha)


def step_loss(moved: Splats, step: int, config: TrackingConfig, loss: LossMode,
               pyramid: ResolutionPyramid, with_alpha: bool, background, backend: str,
               level_gain, plate: Plate | None = None) -> tuple[torch.Tensor, dict, str]:
    """(total loss, losses by name as floats, phase name) of one step; level_gain(factor)
    gives the mass gain of a reduced level (engine/loss/multires.level_mass_gain). With a
    ``plate``, the render is composited over its background image through its colour
    transform (engine/track/plate.py) before either loss sees it."""
    if loss == "pixel":
        image = _rendered_image(moved, pyramid.camera, with_alpha, background, backend, plate)
        total = spatial_loss(image, pyramid.target, config.spatial_loss, config.dssim_weight)
        value = float(total.detach())
        return total, {"total": value, "spatial": value}, "spatial"
    phase = schedule_at(step, config)
    if phase.name == "spectral":
        factor = pyramid.factor(phase.alpha)
        target, cam = pyramid.at_factor(factor)
        under = background if plate is None else None
        rgb, alpha = render_level(moved, cam, factor, under, backend)
        rgb, alpha = apply_mass_gain(rgb, alpha, level_gain(factor), under)
        if plate is not None:
            rgb = plate.over(rgb, alpha, factor, background)
        image = _stack(rgb, alpha, with_alpha)
        total = spectral_loss(image, target, phase.band_weights, config.dc_weight)
        value = float(total.detach())
        return total, {"total": value, "spectral": value, "alpha": phase.alpha,
                       "resolution": cam.width}, phase.name
    image = _rendered_image(moved, pyramid.camera, with_alpha, background, backend, plate)
    spatial = spatial_loss(image, pyramid.target, config.spatial_loss, config.dssim_weight)
    total = phase.spatial_weight * spatial
    losses = {"spatial": float(spatial.detach())}
    if config.spectral_weight_in_spatial_phase:
        spectral = spectral_loss(image, pyramid.target, phase.band_weights, config.dc_weight)
        total = total + spectral
        losses["spectral"] = float(spectral.detach())
    losses["total"] = float(total.detach())
    return total, losses, phase.name
