"""The direct model (the direct morph field): free per-frame motion of every control point.

Frame f and control point k hold an axis-angle v_fk (radians) and an offset
tau_fk (asset sizes): R_fk = exp([v_fk]_x), t_fk = size * tau_fk. A rigid start pose
(v, T about c) is written in the rigid model's form (deform/rigid.py):
v_fk = v, t_fk = R p_k - p_k + c - R c + T.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from . import DeformModel
from ..geometry import axis_angle_to_quat
from .pose import RigidPose


class DirectDeform(DeformModel):
    """Parameters: rotvec [F, P, 3] and tau [F, P, 3]."""

    name = "direct"
    sequential = True

    def __init__(self, control_points: Tensor, num_frames: int, centre: Tensor, size: float,
                 init: RigidPose | None = None):
        super().__init__(control_points, num_frames, centre, size)
        p = self.control_points.shape[0]
        self.rotvec = nn.Parameter(torch.zeros(num_frames, p, 3))
        self.tau = nn.Parameter(torch.zeros(num_frames, p, 3))
        if init is not None:
            from .rigid import RigidDeform
            rigid = RigidDeform(self.control_points, 1, self.centre, self.size, init=init)
            with torch.no_grad():
                _, translations = rigid(torch.zeros(1, dtype=torch.long))
                self.rotvec.copy_(rigid.rotvec.expand(num_frames, p, 3))
                self.tau.copy_((translations / self.size).expand(num_frames, p, 3))

    def forward(self, frame_indices: Tensor) -> tuple[Tensor, Tensor]:
        idx = self.check_frames(frame_indices)
        return axis_angle_to_quat(self.rotvec[idx]), self.size * self.tau[idx]

    def param_groups(self, config) -> list[dict]:
        return [{"params": [self.rotvec, self.tau], "lr": config.lr_control_points}]

    @torch.no_grad()
    def start_frame(self, index: int) -> None:
        if index > 0:
            self.rotvec[index] = self.rotvec[index - 1]
            self.tau[index] = self.tau[index - 1]


__all__ = ["DirectDeform"]
