"""Rigid tracking: one SE(3) of the whole asset per frame, fitted by differentiable rendering.

For each frame, find the pose (axis-angle v, translation t; engine/deform/pose.py) that makes

    render(apply_rigid(splats, v, t, c), camera)  ~  target

with Adam, v and t each with their own learning rate (TrackingConfig.lr_rotation, radians per
step; lr_translation, asset sizes per step: t = size * tau and tau is what Adam moves), both
decayed exponentially to lr_final_fraction over the frame's steps.

Losses (images [C, H, W]: RGB, plus alpha when the target has it and supervise_alpha):

- "spectral" (the paper's method): steps [0, spectral_steps) minimise
  sum_j w_j(alpha(step)) L_j + dc_weight |D(0)|^2 (engine/loss/spectral.py,
  engine/loss/schedule.py),
  rendered at the resolution that holds the weighted bands when ``multiresolution`` is on
  (engine/loss/multires.py); the remaining steps minimise the spatial loss (L1/L2 + D-SSIM) at
  full size, plus the spectral loss at spectral_weight_in_spatial_phase;
- "pixel" (the baseline): the spatial loss at full size on every step, same step budget.

Frames are tracked in order, each starting from the previous frame's pose.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..config import TrackingConfig
from ..conventions import Camera
from ..deform.pose import RigidPose, apply_rigid, asset_centre, asset_size
from ..errors import ConfigError
from ..loss.multires import ResolutionPyramid, level_mass_gain
from ..loss.schedule import learning_rate_factor
from ..progress import CancelToken, EtaClock, ProgressCallback, is_cancelled, progress_event
from ..splats import Splats
from .plate import Backdrop, Plate
from .step import (LOSS_MODES, LossMode, VectorAdam, check_target, step_loss,
                   target_image)


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
        the image's total mass is not the full-size one (engine/loss/multires.py), and the depth,
        which the image sees mostly through its scale, would follow that bias."""
        if self.tau_cam.grad is not None:
            self.tau_cam.grad[2] = 0.0

    def set_lr_factor(self, factor: float) -> None:
        for group, base in zip(self.optim.param_groups, self.base_lrs):
            group["lr"] = base * factor

    def pose(self) -> RigidPose:
        with torch.no_grad():
            return RigidPose(self.rotvec().double(), self.translation().double())


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
    backdrop: torch.Tensor | None = None,  # [H, W, 3] background image (a plate's), or None
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

    plate = None if backdrop is None else Plate(Backdrop(backdrop.to(splats.means)))
    eta = eta or EtaClock(config.iterations)
    start, history, losses = time.perf_counter(), [], {}
    steps = 0
    for step in range(config.iterations):
        if is_cancelled(cancel):
            break
        model.set_lr_factor(learning_rate_factor(step, config.iterations, config))
        moved = apply_rigid(splats, model.rotvec(), model.translation(), centre)
        total, losses, phase = step_loss(moved, step, config, loss, pyramid, with_alpha,
                                          background, backend, level_gain, plate)
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


__all__ = ["RigidFrameResult", "RigidTrackResult", "track_rigid_frame", "track_rigid"]
