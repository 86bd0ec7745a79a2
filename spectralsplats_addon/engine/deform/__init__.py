"""Deformation models: per-frame motion (R_k, t_k) of every control point of a rig.

Every model is a ``DeformModel`` (an ``nn.Module``) with

    forward(frame_indices [F] long) -> (rotations [F, P, 4] unit quaternions w x y z,
                                        translations [F, P, 3] object-local units)

which engine/deform/skinning.py turns into splat positions
x' = sum_k w_k (R_k (x - p_k) + p_k + t_k) and orientations. Three models (``make_model``):

- "rigid":  one axis-angle v_f and translation T_f per frame about the asset centre c,
            written per control point so that skinning gives the rigid motion exactly;
- "direct": an axis-angle and an offset per frame and control point (the direct morph field);
- "mlp":    a TimeNet, an MLP of the encoded control-point position and time.

Translations are parameterised in asset sizes (t = size * tau), so that one learning rate
fits assets of any scale.

    >>> model = make_model("direct", rig, num_frames=5)
    >>> rot, trans = model(torch.arange(5))
    >>> rot.shape, trans.shape
    (torch.Size([5, P, 4]), torch.Size([5, P, 3]))
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..rig import Rig
from ..vocabulary import MODELS as MODEL_NAMES


class DeformModel(nn.Module):
    """Common base. ``control_points`` [P, 3] (buffer), ``centre`` [3] (buffer), ``size``
    (float, asset size), ``num_frames``. ``sequential`` models are fitted one frame at a time,
    each frame starting from the previous one (``start_frame``); the others jointly."""

    name: str = ""
    sequential: bool = True

    def __init__(self, control_points: Tensor, num_frames: int, centre: Tensor, size: float):
        super().__init__()
        if num_frames < 1:
            raise ConfigError(f"a deformation model needs at least 1 frame, got {num_frames}")
        self.register_buffer("control_points", torch.as_tensor(control_points,
                                                               dtype=torch.float32))
        self.register_buffer("centre", torch.as_tensor(centre, dtype=torch.float32).reshape(3))
        self.size = float(size)
        self.num_frames = int(num_frames)

    @property
    def num_control_points(self) -> int:
        return int(self.control_points.shape[0])

    def forward(self, frame_indices: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def param_groups(self, config) -> list[dict]:
        """Optimiser parameter groups with their base learning rates (TrackingConfig)."""
        raise NotImplementedError

    @torch.no_grad()
    def start_frame(self, index: int) -> None:
        """Sequential models: frame ``index`` starts from frame ``index - 1``'s state."""

    def check_frames(self, frame_indices: Tensor) -> Tensor:
        idx = torch.as_tensor(frame_indices, dtype=torch.long).reshape(-1)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.num_frames):
            raise ConfigError(f"frame indices {idx.tolist()} outside the model's "
                              f"{self.num_frames} frames (0 .. {self.num_frames - 1})")
        return idx


def rig_centre_and_size(control_points) -> tuple[np.ndarray, float]:
    """(mean of the control points [3], bounding-box diagonal of the control points)."""
    cp = np.asarray(control_points, dtype=np.float64)
    size = float(np.linalg.norm(cp.max(0) - cp.min(0)))
    return cp.mean(0), size if size > 0 else 1.0


def make_model(name: str, rig: Rig, num_frames: int, *, centre=None, size: float | None = None,
               init=None, **kw) -> DeformModel:
    """The model ``name`` ("rigid", "direct", "mlp") for ``rig`` over ``num_frames`` frames.

    centre [3] (rotation centre; default: mean of the control points), size (asset size;
    default: the control points' bounding-box diagonal), init: a RigidPose every frame
    starts at (default: the rest pose). Further keywords go to the model (mlp: hidden,
    layers, skip_after, position_frequencies, time_frequencies).
    """
    from .direct import DirectDeform
    from .mlp import MlpDeform
    from .rigid import RigidDeform

    classes = {cls.name: cls for cls in (RigidDeform, DirectDeform, MlpDeform)}
    if name not in classes:
        raise ConfigError(f"unknown deformation model {name!r}; choose one of "
                          f"{', '.join(MODEL_NAMES)}")
    default_centre, default_size = rig_centre_and_size(rig.control_points)
    centre = default_centre if centre is None else np.asarray(
        centre.detach().cpu() if torch.is_tensor(centre) else centre, dtype=np.float64)
    size = default_size if size is None else float(size)
    return classes[name](torch.as_tensor(rig.control_points, dtype=torch.float32), num_frames,
                         torch.as_tensor(centre, dtype=torch.float32), size, init=init, **kw)


__all__ = ["MODEL_NAMES", "DeformModel", "make_model", "rig_centre_and_size"]
