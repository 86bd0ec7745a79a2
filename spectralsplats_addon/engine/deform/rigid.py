"""The rigid model: one SE(3) of the whole asset per frame, as per-control-point (R, t).

Frame f holds an axis-angle v_f and a translation T_f = size * tau_f, the motion
x' = R_f (x - c) + c + T_f about the asset centre c. Skinning moves a splat bound to control
point p_k by R_k (x - p_k) + p_k + t_k; with

    R_k = R_f,    t_k = R_f p_k - p_k + c - R_f c + T_f

every control point gives the same map, so any weights reproduce the rigid motion exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from . import DeformModel
from ..geometry import axis_angle_to_matrix, axis_angle_to_quat
from .pose import RigidPose, rigid_matrix


class RigidDeform(DeformModel):
    """Parameters: rotvec [F, 3] (radians) and tau [F, 3] (asset sizes)."""

    name = "rigid"
    sequential = True

    def __init__(self, control_points: Tensor, num_frames: int, centre: Tensor, size: float,
                 init: RigidPose | None = None):
        super().__init__(control_points, num_frames, centre, size)
        pose = init or RigidPose.identity()
        rot = torch.as_tensor(pose.rotation, dtype=torch.float32)
        tau = torch.as_tensor(pose.translation / self.size, dtype=torch.float32)
        self.rotvec = nn.Parameter(rot.expand(num_frames, 3).clone())
        self.tau = nn.Parameter(tau.expand(num_frames, 3).clone())

    def forward(self, frame_indices: Tensor) -> tuple[Tensor, Tensor]:
        idx = self.check_frames(frame_indices)
        v, T = self.rotvec[idx], self.size * self.tau[idx]              # [F, 3]
        R = axis_angle_to_matrix(v)                                      # [F, 3, 3]
        p = self.control_points                                          # [P, 3]
        moved = (R[:, None] @ p[None, :, :, None])[..., 0]               # [F, P, 3] R p_k
        fixed = self.centre - (R @ self.centre[:, None])[..., 0] + T     # [F, 3] c - R c + T
        translations = moved - p + fixed[:, None]
        rotations = axis_angle_to_quat(v)[:, None].expand(-1, p.shape[0], 4)
        return rotations, translations

    def param_groups(self, config) -> list[dict]:
        return [{"params": [self.rotvec], "lr": config.lr_rotation},
                {"params": [self.tau], "lr": config.lr_translation}]

    @torch.no_grad()
    def start_frame(self, index: int) -> None:
        if index > 0:
            self.rotvec[index] = self.rotvec[index - 1]
            self.tau[index] = self.tau[index - 1]

    def object_matrices(self) -> np.ndarray:
        """[F, 4, 4] the object transform of every frame (engine/deform/pose.rigid_matrix)."""
        v = self.rotvec.detach().double().cpu().numpy()
        T = self.size * self.tau.detach().double().cpu().numpy()
        c = self.centre.double().cpu().numpy()
        return np.stack([rigid_matrix(v[f], T[f], c) for f in range(self.num_frames)])


__all__ = ["RigidDeform"]
