"""Rigid tracking: one SE(3) of the whole asset per frame, fitted by differentiable rendering.

For each frame, find the pose (axis-angle v, translation t; engine/rigid.py) that makes

    render(apply_rigid(splats, v, t, c), camera)  ~  target

with Adam, v and t each with their own learning rate (TrackingConfig.lr_rotation, radians per
step; lr_translation, asset sizes per step: t = size * tau and tau is what Adam moves), both
decayed exponentially to lr_final_fraction over the frame's steps.

Losses (images [C, H, W]: RGB, plus alpha when the target has it and supervise_alpha):

- "spectral" (the paper's method): steps [0, spectral_steps) minimise
  sum_j w_j(alpha(step)) L_j + dc_weight |D(0)|^2 (engine/spectral.py, engine/schedule.py),
  rendered at the resolution that holds the weighted bands when ``multiresolution`` is on
  (engine/multires.py); the remaining steps minimise the spatial loss (L1/L2 + D-SSIM) at
  full size, plus the spectral loss at spectral_weight_in_spatial_phase;
- "pixel" (the baseline): the spatial loss at full size on every step, same step budget.

Frames are tracked in order, each starting from the previous frame's pose.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, Sequence

import torch

from .config import TrackingConfig
from .conventions import Camera
from .errors import ConfigError, LossInputError
from .losses import spatial_loss
from .multires import ResolutionPyramid, apply_mass_gain, level_mass_gain, render_level
from .progress import CancelToken, EtaClock, ProgressCallback, is_cancelled, progress_event
from .render.api import render
from .rigid import RigidPose, apply_rigid, asset_centre, asset_size
from .schedule import learning_rate_factor, schedule_at
from .spectral import spectral_loss
from .splats import Splats

LossMode = Literal["spectral", "pixel"]
LOSS_MODES: tuple[str, ...] = ("spectral", "pixel")


@dataclass
class RigidFrameResult:
    """pose: the fitted pose (about ``centre``); losses: the last step's losses by name;
    loss_history: total loss per step; iterations_run < config.iterations when cancelled."""

    pose: RigidPose
    centre: torch.Tensor  # [3]
    losses: dict
    loss_history: list = field(default_factory=list)
    iterations_run: int = 0
    cancelled: bool = False
    seconds: float = 0.0


@dataclass
class RigidTrackResult:
    """One result per tracked frame, in order; cancelled: the job stopped early (the last
    frame in ``frames`` is then partly optimised)."""

    frames: list
    cancelled: bool = False

    @property
    def poses(self) -> list:
        return [f.pose for f in self.frames]


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


class _PoseModel:
    """Trainable v [3] and tau [3] in the camera's axes (rows of B = the viewmat's rotation:
    x right, y down, z along the view) with t = size * B^T tau and v_world = B^T v. Adam's
    per-coordinate steps then keep the well-seen image-plane motion apart from the weakly
    seen depth. Two parameter groups: rotation and translation."""

    def __init__(self, init: RigidPose, size: float, basis: torch.Tensor,
                 config: TrackingConfig, dtype: torch.dtype):
        self.size, self.basis = size, basis.to(dtype)  # [3, 3] world -> camera
        rot0 = torch.as_tensor(init.rotation, dtype=torch.float64) @ basis.double().T
        tau0 = torch.as_tensor(init.translation, dtype=torch.float64) @ basis.double().T / size
        self.rotvec_cam = rot0.to(dtype).requires_grad_(True)
        self.tau_cam = tau0.to(dtype).requires_grad_(True)
        self.base_lrs = (config.lr_rotation, config.lr_translation)
        self.optim = VectorAdam([{"params": [self.rotvec_cam], "lr": self.base_lrs[0]},
                                       {"params": [self.tau_cam], "lr": self.base_lrs[1]}])

    def rotvec(self) -> torch.Tensor:
        """[3] axis-angle in the scene's axes."""
        return self.rotvec_cam @ self.basis

    def translation(self) -> torch.Tensor:
        """[3] scene units in the scene's axes."""
        return self.size * (self.tau_cam @ self.basis)

    def hold_depth(self) -> None:
        """Drops this step's gradient along the view axis (tau_cam[2]): at a reduced level
        the image's total mass is not the full-size one (engine/multires.py), and the depth,
        which the image sees mostly through its scale, would follow that bias."""
        if self.tau_cam.grad is not None:
            self.tau_cam.grad[2] = 0.0

    def set_lr_factor(self, factor: float) -> None:
        for group, base in zip(self.optim.param_groups, self.base_lrs):
            group["lr"] = base * factor

    def pose(self) -> RigidPose:
        with torch.no_grad():
            return RigidPose(self.rotvec().double(), self.translation().double())


def _stack(rgb: torch.Tensor, alpha: torch.Tensor, with_alpha: bool) -> torch.Tensor:
    """rgb [H, W, 3], alpha [H, W] -> [C, H, W], C = 4 with alpha, else 3."""
    channels = [rgb.permute(2, 0, 1)] + ([alpha[None]] if with_alpha else [])
    return torch.cat(channels, 0)


def _rendered_image(splats: Splats, camera: Camera, with_alpha: bool, background,
                    backend: str) -> torch.Tensor:
    out = render(splats, camera, background=background, backend=backend)
    return _stack(out.rgb, out.alpha, with_alpha)


def track_rigid_frame(
    splats: Splats,                     # the asset at rest, torch fields (not optimised)
    camera: Camera,
    target_rgb: torch.Tensor,           # [H, W, 3] in [0, 1]
    target_alpha: torch.Tensor | None,  # [H, W] or None
    config: TrackingConfig,
    *,
    loss: LossMode = "spectral",
    init: RigidPose | None = None,      # start pose (default: identity)
    centre: torch.Tensor | None = None,  # [3] rotation centre (default: asset_centre)
    background=None,                    # [3] render background (None: black)
    backend: str = "auto",
    frame: int = 0,
    callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    eta: EtaClock | None = None,
) -> RigidFrameResult:
    """Fits one pose so that the moved asset's render matches the target (module docstring).

    Returns the pose after config.iterations steps, or where ``cancel`` stopped it; calls
    ``callback`` after every step with a progress event (engine/progress.py).

        >>> res = track_rigid_frame(splats, cam, rgb, alpha, preset("fast"))
        >>> res.pose.translation.shape, res.iterations_run
        ((3,), 150)
    """
    if loss not in LOSS_MODES:
        raise ConfigError(f"unknown rigid tracking loss {loss!r}; choose 'spectral' (the "
                          f"annealed spectral moments, then spatial) or 'pixel' (spatial only)")
    target = target_image(target_rgb.to(splats.means), None if target_alpha is None
                          else target_alpha.to(splats.means), config.supervise_alpha)
    check_target(target, camera)
    with_alpha = target.shape[0] == 4
    centre = asset_centre(splats) if centre is None else torch.as_tensor(centre)
    centre = centre.to(splats.means)
    basis = torch.as_tensor(camera.viewmat[:3, :3])
    model = _PoseModel(init or RigidPose.identity(), asset_size(splats), basis, config,
                       splats.means.dtype)
    pyramid = ResolutionPyramid(target, camera, config.multiresolution_min_side,
                                enabled=config.multiresolution and loss == "spectral")
    gains: dict = {}  # level factor -> mass gain, measured at the start pose

    def level_gain(factor: int) -> float:
        if factor not in gains:
            start_splats = apply_rigid(splats, model.rotvec().detach(),
                                       model.translation().detach(), centre)
            gains[factor] = level_mass_gain(start_splats, camera, factor, backend)
        return gains[factor]

    eta = eta or EtaClock(config.iterations)
    start, history, losses = time.perf_counter(), [], {}
    steps = 0
    for step in range(config.iterations):
        if is_cancelled(cancel):
            break
        model.set_lr_factor(learning_rate_factor(step, config.iterations, config))
        moved = apply_rigid(splats, model.rotvec(), model.translation(), centre)
        total, losses, phase = step_loss(moved, step, config, loss, pyramid, with_alpha,
                                          background, backend, level_gain)
        model.optim.zero_grad(set_to_none=True)
        total.backward()
        if (losses.get("resolution", camera.width) < camera.width
                or (phase == "spectral" and config.spectral_depth_hold)):
            model.hold_depth()
        model.optim.step()
        steps = step + 1
        history.append(losses["total"])
        if callback is not None:
            callback(progress_event(frame, step, config.iterations, phase, losses, eta.step()))
        else:
            eta.step()
    return RigidFrameResult(model.pose(), centre.detach(), losses, history, steps,
                            steps < config.iterations, time.perf_counter() - start)


def step_loss(moved: Splats, step: int, config: TrackingConfig, loss: LossMode,
               pyramid: ResolutionPyramid, with_alpha: bool, background, backend: str,
               level_gain) -> tuple[torch.Tensor, dict, str]:
    """(total loss, losses by name as floats, phase name) of one step; level_gain(factor)
    gives the mass gain of a reduced level (engine/multires.level_mass_gain)."""
    if loss == "pixel":
        image = _rendered_image(moved, pyramid.camera, with_alpha, background, backend)
        total = spatial_loss(image, pyramid.target, config.spatial_loss, config.dssim_weight)
        value = float(total.detach())
        return total, {"total": value, "spatial": value}, "spatial"
    phase = schedule_at(step, config)
    if phase.name == "spectral":
        factor = pyramid.factor(phase.alpha)
        target, cam = pyramid.at_factor(factor)
        rgb, alpha = render_level(moved, cam, factor, background, backend)
        rgb, alpha = apply_mass_gain(rgb, alpha, level_gain(factor), background)
        image = _stack(rgb, alpha, with_alpha)
        total = spectral_loss(image, target, phase.band_weights, config.dc_weight)
        value = float(total.detach())
        return total, {"total": value, "spectral": value, "alpha": phase.alpha,
                       "resolution": cam.width}, phase.name
    image = _rendered_image(moved, pyramid.camera, with_alpha, background, backend)
    spatial = spatial_loss(image, pyramid.target, config.spatial_loss, config.dssim_weight)
    total = phase.spatial_weight * spatial
    losses = {"spatial": float(spatial.detach())}
    if config.spectral_weight_in_spatial_phase:
        spectral = spectral_loss(image, pyramid.target, phase.band_weights, config.dc_weight)
        total = total + spectral
        losses["spectral"] = float(spectral.detach())
    losses["total"] = float(total.detach())
    return total, losses, phase.name


def track_rigid(
    splats: Splats,
    cameras: Camera | Sequence[Camera],          # one camera for all frames, or one per frame
    frames: Sequence[tuple[torch.Tensor, torch.Tensor | None]],  # (rgb [H, W, 3], alpha [H, W])
    config: TrackingConfig,
    *,
    loss: LossMode = "spectral",
    init: RigidPose | None = None,
    background=None,
    backend: str = "auto",
    callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RigidTrackResult:
    """One pose per frame, in order, each frame starting from the previous frame's pose.

    Poses are about the asset centre of the splats at rest (asset_centre), so pose f maps the
    asset at rest to its place in frame f.
    """
    cams = [cameras] * len(frames) if isinstance(cameras, Camera) else list(cameras)
    if len(cams) != len(frames):
        raise ConfigError(f"got {len(cams)} cameras for {len(frames)} frames: give one camera "
                          f"for all frames or one per frame")
    centre = asset_centre(splats)
    eta = EtaClock(config.iterations * len(frames))
    pose, results = init or RigidPose.identity(), []
    for index, ((rgb, alpha), cam) in enumerate(zip(frames, cams)):
        result = track_rigid_frame(splats, cam, rgb, alpha, config, loss=loss, init=pose,
                                   centre=centre, background=background, backend=backend,
                                   frame=index, callback=callback, cancel=cancel, eta=eta)
        results.append(result)
        pose = result.pose
        if result.cancelled:
            return RigidTrackResult(results, cancelled=True)
    return RigidTrackResult(results, cancelled=False)


__all__ = ["LossMode", "LOSS_MODES", "VectorAdam", "RigidFrameResult", "RigidTrackResult", "target_image",
           "track_rigid_frame", "track_rigid"]
