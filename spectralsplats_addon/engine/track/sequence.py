"""Sequence tracking: fit a deformation model (engine/deform) to a clip, frame by frame or
jointly, by differentiable rendering of the skinned splats.

Frame f renders the splats with means and orientations skinned by the model's control-point
motion (engine/deform/skinning.py; scales, opacities, colours and normals unchanged) and compares
the render with the target as the rigid tracker does (engine/track/rigid.py): the spectral
phase on RGB (+ alpha) on the annealed schedule, then the spatial phase; or the spatial loss
alone (loss="pixel"). The direct and mlp models add

    arap_weight * L_arap(this step's frames) + temporal_weight * L_temp
    (engine/deform/regularisers.py).

- direct, mlp: with config.align_first_frame (the default), the first frame is first fitted
  by one rigid pose from ``init`` (engine/track/align.py; progress phase "align"), and the model
  starts from that pose: per-control-point steps alone do not close a zero-overlap gap. The
  alignment is deterministic, so a resumed run repeats it and starts where the first did.
- rigid, direct: sequential. Frame i starts from frame i-1's fitted state (frame 0 from
  ``init``, the initial misalignment) and runs config.iterations steps of the full schedule
  with VectorAdam; the temporal term looks at frames i-2 .. i, the earlier ones held fixed.
  With ``checkpoint``, the result is saved after every frame; ``resume`` continues after the
  last saved frame. A frame's fit depends only on the previous frame's state, so a resumed
  run ends where an uninterrupted one does.
- mlp: joint. iterations x F steps of Adam on the TimeNet, on one schedule over the whole
  run; frames unlock one after another over mlp_unlock_fraction of the steps; each step
  renders mlp_frames_per_step unlocked frames drawn by a generator seeded with (seed, step).
  The checkpoint (every mlp_checkpoint_every steps, and on cancel) holds the network and
  Adam's state, so a resumed run continues the same sequence of steps.

Plates (docs/spectral.md, "Plates"): with ``backdrops`` every frame's render is composited
over its background image (a clean plate, the clip's estimate) rather than the background
colour, and with ``appearance`` "clip" or "frame" its colours first go through a gain and
offset optimised with the motion (engine/track/appearance.py; result.extra holds them). The
first-frame alignment composites over the first frame's background image too.

A cancelled run returns complete=False: for rigid/direct the frames finished so far, for mlp
the unlocked frames at the network's current state. Cameras see the splats' own
(object-local) frame: fold the object's matrix into each camera's viewmat first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ..config import TrackingConfig
from ..conventions import Camera
from ..deform import DeformModel, make_model
from ..deform.pose import RigidPose, asset_centre, asset_size
from ..deform.regularisers import arap_loss, neighbour_graph, temporal_smoothness
from ..deform.skinning import RigTensors, pose_splats
from ..errors import ConfigError, TrackingError
from ..loss.metrics import psnr
from ..loss.multires import ResolutionPyramid, level_mass_gain
from ..loss.schedule import learning_rate_factor
from ..progress import CancelToken, EtaClock, ProgressCallback, is_cancelled, progress_event
from ..render.api import render
from ..result import TrackResult
from ..rig import Rig
from ..splats import Splats
from .align import align_first_frame
from .appearance import Appearance
from .plate import Backdrop, Plate
from .step import LOSS_MODES, LossMode, VectorAdam, check_target, step_loss, target_image

Target = tuple[Tensor, Tensor | None]  # (rgb [H, W, 3], alpha [H, W] or None)
TargetSource = Sequence[Target] | Callable[[int], Target]
BackdropSource = Callable[[int], "Tensor | np.ndarray | None"]  # scene frame -> [H, W, 3]


class _Scene:
    """The fixed inputs of a run: splats, rig tensors, cameras and targets by sequence index."""

    def __init__(self, splats: Splats, rig: Rig, cameras, targets: TargetSource,
                 frames: list[int], config: TrackingConfig,
                 backdrops: BackdropSource | None = None, appearance: str = "off"):
        self.splats = splats.to_torch(dtype=torch.float32) if not torch.is_tensor(
            splats.means) else splats
        like = self.splats.means
        self.rig = RigTensors.of(rig, like)
        self.frames, self.config = frames, config
        self.cameras = [cameras] * len(frames) if isinstance(cameras, Camera) else list(cameras)
        if len(self.cameras) != len(frames):
            raise ConfigError(f"got {len(self.cameras)} cameras for {len(frames)} frames: give "
                              "one camera for all frames or one per frame")
        if not callable(targets) and len(targets) != len(frames):
            raise ConfigError(f"got {len(targets)} target images for {len(frames)} frames: give "
                              "one (rgb, alpha) per frame, or a function frame -> (rgb, alpha)")
        self._targets, self._cache = targets, {}
        self._backdrops, self._backdrop_cache = backdrops, {}
        self.appearance = Appearance(appearance, len(frames), like)

    def backdrop(self, index: int) -> Backdrop | None:
        """The background image of sequence frame ``index`` (None: the background colour)."""
        if self._backdrops is None:
            return None
        if index not in self._backdrop_cache:
            image = self._backdrops(self.frames[index])
            if image is not None:
                image = Backdrop(torch.as_tensor(image).to(self.splats.means))
                camera = self.cameras[index]
                if tuple(image.image.shape[:2]) != (camera.height, camera.width):
                    raise ConfigError(f"the background of frame {self.frames[index]} is "
                                      f"{image.image.shape[1]} x {image.image.shape[0]} but "
                                      f"the camera renders {camera.width} x {camera.height}: "
                                      "resize it to the tracking size")
            self._backdrop_cache[index] = image
        return self._backdrop_cache[index]

    def plate(self, index: int) -> Plate | None:
        """How frame ``index``'s render is composited (engine/track/plate.py); None: plainly
        over the background colour."""
        backdrop = self.backdrop(index)
        gain, offset = self.appearance.transform(index)
        if backdrop is None and gain is None:
            return None
        return Plate(backdrop, gain, offset)

    def target(self, index: int) -> Tensor:
        """[C, H, W] target of sequence frame ``index`` (C = 4 with supervised alpha)."""
        if index not in self._cache:
            rgb, alpha = (self._targets(self.frames[index]) if callable(self._targets)
                          else self._targets[index])
            like = self.splats.means
            image = target_image(torch.as_tensor(rgb).to(like), None if alpha is None else
                                 torch.as_tensor(alpha).to(like), self.config.supervise_alpha)
            check_target(image, self.cameras[index])
            self._cache[index] = image
        return self._cache[index]

    def posed(self, rotations: Tensor, translations: Tensor) -> Splats:
        """The splats skinned by one frame's motion: rotations [P, 4], translations [P, 3].
        On the CPU through the compiled kernels (pose_splats, compiled)."""
        return pose_splats(self.splats, self.rig, rotations, translations, compiled=True)


def _regularisers(model: DeformModel, rotations: Tensor, translations: Tensor, fit: Tensor,
                  graph: Tensor | None, config: TrackingConfig) -> tuple[Tensor, dict]:
    """(weighted sum, values by name). ARAP on the fitted frames' translations ``fit``
    [B, P, 3]; temporal smoothness over the window rotations [W, P, 4], translations [W, P, 3].
    The rigid model has no regulariser."""
    zero = translations.sum() * 0.0
    if model.name == "rigid":
        return zero, {}
    total, values = zero, {}
    if config.arap_weight > 0 and graph is not None:
        arap = arap_loss(model.control_points, graph, fit)
        total, values["arap"] = total + config.arap_weight * arap, float(arap.detach())
    if config.temporal_weight > 0 and translations.shape[0] > 1:
        temporal = temporal_smoothness(translations, rotations, model.size)
        total = total + config.temporal_weight * temporal
        values["temporal"] = float(temporal.detach())
    return total, values


def _set_lr(optim: torch.optim.Optimizer, base: list[float], factor: float) -> None:
    for group, lr in zip(optim.param_groups, base):
        group["lr"] = lr * factor


def _frame_psnr(scene: _Scene, model: DeformModel, index: int, background, backend: str
                ) -> float:
    """PSNR (dB) of frame ``index``'s RGB render at the model's state against its target."""
    with torch.no_grad():
        rot, trans = model(torch.tensor([index]))
        plate = scene.plate(index)
        out = render(scene.posed(rot[0], trans[0]), scene.cameras[index],
                     background=background if plate is None else None, backend=backend)
        rgb = out.rgb if plate is None else plate.over(out.rgb, out.alpha, 1, background)
        return psnr(rgb.permute(2, 0, 1), scene.target(index)[:3])


def _state_extra(model: DeformModel) -> dict:
    """The model's parameters as named arrays for TrackResult.extra (exact, float32)."""
    return {f"param.{name}": p.detach().cpu().numpy().copy()
            for name, p in model.named_parameters()}


def _load_state(model: DeformModel, extra: dict, path) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            key = f"param.{name}"
            if key not in extra or tuple(extra[key].shape) != tuple(p.shape):
                raise ConfigError(f"{path}: the checkpoint does not hold this model's parameter "
                                  f"{name} {tuple(p.shape)}; it was saved by another model, rig "
                                  "or clip: track again without resume")
            p.copy_(torch.as_tensor(extra[key]))


def _result(scene: _Scene, model: DeformModel, count: int, losses: np.ndarray,
            psnrs: np.ndarray, complete: bool, extra: dict) -> TrackResult:
    """TrackResult of the first ``count`` frames. The rigid model's motion goes into
    object_matrices (control points at rest), as Blender bakes it onto the object."""
    with torch.no_grad():
        rot, trans = model(torch.arange(count))
    matrices = None
    if model.name == "rigid":
        matrices = model.object_matrices()[:count]
        rot = torch.zeros_like(rot)
        rot[..., 0] = 1.0
        trans = torch.zeros_like(trans)
    return TrackResult(np.asarray(scene.frames[:count]), rot.cpu().numpy(), trans.cpu().numpy(),
                       model=model.name, object_matrices=matrices, losses=losses[:count],
                       psnr=psnrs[:count], complete=complete,
                       extra={**_state_extra(model), **scene.appearance.extra(count), **extra})


def _load_checkpoint(path, model: DeformModel, frames: list[int]) -> TrackResult | None:
    """The saved partial result, its parameters loaded into ``model``; None if no file, or
    if a sequential model finished no frame there (its parameters are then those of a stop
    during the first frame's alignment or fit: the run starts afresh, as an uninterrupted
    one does)."""
    if path is None:
        raise ConfigError("resume=True needs checkpoint: the path of the result.npz to "
                          "continue from")
    if not Path(path).is_file():
        return None
    saved = TrackResult.load(path)
    if saved.model != model.name or list(saved.frames) != list(frames[:saved.num_frames]):
        raise ConfigError(f"{path}: the checkpoint holds model {saved.model!r} for frames "
                          f"{saved.frames.tolist()}, not model {model.name!r} for frames "
                          f"{list(frames)}: track again without resume or name another file")
    if model.sequential and saved.num_frames == 0:
        return None
    _load_state(model, saved.extra, path)
    return saved


def check_finite(model: DeformModel, frame: int, step: int) -> None:
    """TrackingError when a step left a parameter NaN or Inf (the optimisation diverged), so
    that the next render does not blame the asset's splats."""
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise TrackingError(f"the tracking diverged at scene frame {frame}, step {step} (a "
                            "motion parameter became NaN or Inf); lower the learning rates "
                            "(settings.config lr_*) or use the robust preset")


def _fit_frame(scene: _Scene, model: DeformModel, index: int, graph, loss: LossMode,
               background, backend: str, callback, cancel, eta: EtaClock) -> tuple[dict, bool]:
    """config.iterations steps on frame ``index`` (sequential models) -> (last losses,
    cancelled)."""
    config = scene.config
    model.start_frame(index)
    scene.appearance.start_frame(index)
    optim = VectorAdam(model.param_groups(config) + scene.appearance.param_groups(config))
    base = [g["lr"] for g in optim.param_groups]
    target, camera = scene.target(index), scene.cameras[index]
    pyramid = ResolutionPyramid(target, camera, config.multiresolution_min_side,
                                enabled=config.multiresolution and loss == "spectral")
    window = torch.arange(max(0, index - 2), index + 1)
    with torch.no_grad():
        rot0, trans0 = model(window[-1:])
        start = scene.posed(rot0[0], trans0[0])
    gains: dict = {}

    def level_gain(factor: int) -> float:
        if factor not in gains:
            gains[factor] = level_mass_gain(start, camera, factor, backend)
        return gains[factor]

    losses: dict = {}
    for step in range(config.iterations):
        if is_cancelled(cancel):
            return losses, True
        _set_lr(optim, base, learning_rate_factor(step, config.iterations, config))
        rot, trans = model(window)
        rot = torch.cat([rot[:-1].detach(), rot[-1:]])      # earlier frames are held fixed
        trans = torch.cat([trans[:-1].detach(), trans[-1:]])
        moved = scene.posed(rot[-1], trans[-1])
        total, losses, phase = step_loss(moved, step, config, loss, pyramid,
                                               target.shape[0] == 4, background, backend,
                                               level_gain, scene.plate(index))
        reg, reg_values = _regularisers(model, rot, trans, trans[-1:], graph, config)
        total = total + reg
        colour_change = scene.appearance.regulariser(index, config)
        if colour_change is not None:
            total = total + colour_change
            reg_values["appearance"] = float(colour_change.detach())
        losses = {**losses, **reg_values, "total": float(total.detach())}
        optim.zero_grad(set_to_none=True)
        total.backward()
        optim.step()
        check_finite(model, scene.frames[index], step)
        left = eta.step()
        if callback is not None:
            callback(progress_event(index, step, config.iterations, phase, losses, left))
    scene.appearance.record(index)
    return losses, False


def _track_sequential(scene: _Scene, model: DeformModel, graph, loss, background, backend,
                      callback, cancel, checkpoint, resume) -> TrackResult:
    count = len(scene.frames)
    losses = np.full(count, np.nan, dtype=np.float32)
    psnrs = np.full(count, np.nan, dtype=np.float32)
    done = 0
    if resume:
        saved = _load_checkpoint(checkpoint, model, scene.frames)
        if saved is not None:
            done = saved.num_frames
            losses[:done], psnrs[:done] = saved.losses, saved.psnr
            scene.appearance.restore(saved.extra, done)
    eta = EtaClock(scene.config.iterations * (count - done))
    for index in range(done, count):
        last, cancelled = _fit_frame(scene, model, index, graph, loss, background, backend,
                                     callback, cancel, eta)
        if cancelled:
            return _result(scene, model, index, losses, psnrs, False, {})
        losses[index] = last.get("total", np.nan)
        psnrs[index] = _frame_psnr(scene, model, index, background, backend)
        if checkpoint is not None:
            _result(scene, model, index + 1, losses, psnrs, index + 1 == count, {}
                    ).save(checkpoint)
    return _result(scene, model, count, losses, psnrs, True, {})


def unlocked_frames(step: int, total_steps: int, num_frames: int, fraction: float) -> int:
    """Frames 0 .. n-1 open at ``step`` of the joint run: 1 at step 0, rising linearly to
    num_frames at step round(fraction * total_steps) (every frame at once for fraction 0)."""
    span = round(fraction * total_steps)
    if num_frames == 1 or span <= 0:
        return num_frames
    return min(num_frames, 1 + (step * (num_frames - 1)) // span)


def _adam_extra(optim: torch.optim.Adam, params: list) -> dict:
    extra = {}
    for i, p in enumerate(params):
        state = optim.state.get(p)
        if state:
            extra[f"adam.{i}.step"] = np.asarray(float(state["step"]), dtype=np.float64)
            extra[f"adam.{i}.exp_avg"] = state["exp_avg"].cpu().numpy().copy()
            extra[f"adam.{i}.exp_avg_sq"] = state["exp_avg_sq"].cpu().numpy().copy()
    return extra


def _load_adam(optim: torch.optim.Adam, params: list, extra: dict) -> None:
    for i, p in enumerate(params):
        if f"adam.{i}.step" in extra:
            optim.state[p] = {
                "step": torch.tensor(float(extra[f"adam.{i}.step"]), dtype=torch.float32),
                "exp_avg": torch.as_tensor(extra[f"adam.{i}.exp_avg"]).clone(),
                "exp_avg_sq": torch.as_tensor(extra[f"adam.{i}.exp_avg_sq"]).clone()}


def _track_joint(scene: _Scene, model: DeformModel, graph, loss, background, backend, callback,
                 cancel, checkpoint, resume, seed: int) -> TrackResult:
    config, count = scene.config, len(scene.frames)
    total_steps = config.iterations * count
    joint = config.replace(iterations=total_steps)   # one schedule over the whole run
    params = list(model.parameters()) + scene.appearance.parameters()
    optim = torch.optim.Adam(model.param_groups(config) + scene.appearance.param_groups(config),
                             foreach=False)
    base = [g["lr"] for g in optim.param_groups]
    losses = np.full(count, np.nan, dtype=np.float32)
    psnrs = np.full(count, np.nan, dtype=np.float32)
    first = 0
    if resume:
        saved = _load_checkpoint(checkpoint, model, scene.frames)
        if saved is not None:
            _load_adam(optim, params, saved.extra)
            scene.appearance.load_state(saved.extra)
            first = int(saved.extra.get("mlp_step", 0))
            losses[:saved.num_frames] = saved.losses
    pyramids, gains = {}, {}

    def pyramid(index: int) -> ResolutionPyramid:
        if index not in pyramids:
            pyramids[index] = ResolutionPyramid(
                scene.target(index), scene.cameras[index], config.multiresolution_min_side,
                enabled=config.multiresolution and loss == "spectral")
        return pyramids[index]

    def gain_of(index: int):
        def level_gain(factor: int) -> float:  # measured at the base pose: same on resume
            if (index, factor) not in gains:
                start = scene.posed(model.base_rotations, model.base_translations)
                gains[index, factor] = level_mass_gain(start, scene.cameras[index], factor,
                                                       backend)
            return gains[index, factor]
        return level_gain

    def partial(step: int, complete: bool) -> TrackResult:
        n = count if complete else unlocked_frames(step, total_steps, count,
                                                   config.mlp_unlock_fraction)
        extra = {**_adam_extra(optim, params), **scene.appearance.state(),
                 "mlp_step": np.asarray(step, dtype=np.int64)}
        return _result(scene, model, n, losses, psnrs, complete, extra)

    eta = EtaClock(total_steps - first)
    for step in range(first, total_steps):
        if is_cancelled(cancel):
            result = partial(step, False)
            if checkpoint is not None:
                result.save(checkpoint)
            return result
        n = unlocked_frames(step, total_steps, count, config.mlp_unlock_fraction)
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
        batch = torch.randperm(n, generator=generator)[:config.mlp_frames_per_step]
        _set_lr(optim, base, learning_rate_factor(step, total_steps, config))
        rot, trans = model(batch)
        image_total, values = 0.0, {}
        for j, index in enumerate(batch.tolist()):
            part, values, phase = step_loss(
                scene.posed(rot[j], trans[j]), step, joint, loss, pyramid(index),
                scene.target(index).shape[0] == 4, background, backend, gain_of(index),
                scene.plate(index))
            image_total = image_total + part / batch.numel()
        window_rot, window_trans = model(torch.arange(n)) if n > 1 else (rot, trans)
        reg, reg_values = _regularisers(model, window_rot, window_trans, trans, graph, config)
        total = image_total + reg
        values = {**values, **reg_values, "total": float(total.detach())}
        losses[batch.numpy()] = values["total"]
        optim.zero_grad(set_to_none=True)
        total.backward()
        optim.step()
        check_finite(model, scene.frames[int(batch[0])], step)
        left = eta.step()
        if callback is not None:
            callback(progress_event(int(batch[0]), step, total_steps, phase, values, left))
        if checkpoint is not None and (step + 1) % config.mlp_checkpoint_every == 0 \
                and step + 1 < total_steps:
            partial(step + 1, False).save(checkpoint)
    for index in range(count):
        scene.appearance.record(index)
        psnrs[index] = _frame_psnr(scene, model, index, background, backend)
    result = partial(total_steps, True)
    if checkpoint is not None:
        result.save(checkpoint)
    return result


def track_sequence(
    splats: Splats,                     # the asset at rest, object-local
    rig: Rig,                           # control points [P, 3], indices / weights [N, K]
    cameras: Camera | Sequence[Camera],  # one for every frame, or one per frame
    targets: TargetSource,              # (rgb [H, W, 3], alpha [H, W] | None) per frame, or
                                        # a function scene frame number -> that pair
    frames: Sequence[int],              # scene frame numbers, increasing
    model: str = "direct",              # "rigid" | "direct" | "mlp"
    config: TrackingConfig | None = None,
    *,
    loss: LossMode = "spectral",
    init: RigidPose | None = None,      # the starting pose (initial misalignment); None: rest
    callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    checkpoint=None,                    # path of result.npz saved as the run goes
    resume: bool = False,               # continue from ``checkpoint`` where it exists
    seed: int = 0,
    background=None,                    # [3] render background (None: black)
    backend: str = "auto",
    backdrops: BackdropSource | None = None,  # scene frame -> background image [H, W, 3]
                                        # (a clean plate, the clip's estimate) or None
    appearance: str = "off",            # "off" | "clip" | "frame" (engine/track/appearance.py)
) -> TrackResult:
    """The control-point motion of every frame (module docstring).

        >>> res = track_sequence(splats, rig, cam, clip, [1, 2, 3], "direct", preset("fast"))
        >>> res.rotations.shape, res.complete
        ((3, P, 4), True)
    """
    config = config or TrackingConfig()
    frames = [int(f) for f in frames]
    if not frames:
        raise ConfigError("no frames to track: give at least one scene frame number")
    if any(b <= a for a, b in zip(frames, frames[1:])):
        raise ConfigError(f"frames must be increasing scene frame numbers, got {frames}")
    if loss not in LOSS_MODES:
        raise ConfigError(f"unknown tracking loss {loss!r}; choose 'spectral' (the annealed "
                          "spectral moments, then spatial) or 'pixel' (spatial only)")
    scene = _Scene(splats, rig, cameras, targets, frames, config, backdrops, appearance)
    if config.align_first_frame and model != "rigid":
        first = scene.backdrop(0)
        init = align_first_frame(scene.splats, scene.cameras[0], scene.target(0), config, loss,
                                 init, background=background, backend=backend,
                                 backdrop=None if first is None else first.image,
                                 callback=callback, cancel=cancel)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        deform = make_model(model, rig, len(frames), centre=asset_centre(scene.splats),
                            size=asset_size(scene.splats), init=init)
    deform = deform.to(scene.splats.means.device)
    graph = None
    if model != "rigid" and config.arap_weight > 0 and rig.num_control_points > 1:
        graph = torch.as_tensor(neighbour_graph(rig.control_points),
                                device=scene.splats.means.device)
    if deform.sequential:
        return _track_sequential(scene, deform, graph, loss, background, backend, callback,
                                 cancel, checkpoint, resume)
    return _track_joint(scene, deform, graph, loss, background, backend, callback, cancel,
                        checkpoint, resume, seed)


__all__ = ["Target", "TargetSource", "BackdropSource", "unlocked_frames", "track_sequence"]
