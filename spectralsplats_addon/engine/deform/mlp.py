"""The mlp model: a TimeNet maps (control-point position, time) to that point's motion.

Inputs. Position p_k is normalised to the rig's bounding box, u = 2 (p - lo) / (hi - lo) - 1
in [-1, 1]^3; time s = f / (F - 1) in [0, 1]. Each is encoded NeRF-style,

    gamma_L(x) = (x, sin(2^0 pi x), cos(2^0 pi x), ..., sin(2^(L-1) pi x), cos(2^(L-1) pi x)),

with L = 10 for position (63 numbers) and L = 6 for time (13 numbers).

Network. ``layers`` (8) linear layers of ``hidden`` (256) units with ReLU; the encoded input
is concatenated again to the output of layer ``skip_after`` (4). Two linear heads give an
axis-angle delta dv_k [3] and an offset dtau_k [3] (asset sizes); both heads start at zero,
so training starts at the base pose.

Output. With a base rigid pose (v, T about c; the rest pose by default) given per control
point as (R_b, t_bk) by deform/rigid.py:

    R_k = exp([dv_k]_x) R_b,    t_k = t_bk + size * dtau_k.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from . import DeformModel
from ..geometry import axis_angle_to_quat, quat_multiply
from .pose import RigidPose


def positional_encoding(x: Tensor, frequencies: int) -> Tensor:
    """gamma_L(x) = (x, sin(2^l pi x), cos(2^l pi x) for l < L).  [..., D] -> [..., D (1 + 2L)]"""
    scales = math.pi * 2.0 ** torch.arange(frequencies, dtype=x.dtype, device=x.device)
    angles = (x[..., None, :] * scales[:, None]).flatten(-2)         # [..., L D]
    return torch.cat([x, torch.sin(angles), torch.cos(angles)], dim=-1)


class TimeNet(nn.Module):
    """MLP: encoded (position, time) [M, in_dim] -> (axis-angle delta [M, 3], offset [M, 3])."""

    def __init__(self, position_frequencies: int = 10, time_frequencies: int = 6,
                 hidden: int = 256, layers: int = 8, skip_after: int = 4):
        super().__init__()
        self.position_frequencies, self.time_frequencies = position_frequencies, time_frequencies
        self.in_dim = 3 * (1 + 2 * position_frequencies) + (1 + 2 * time_frequencies)
        self.skip_after = skip_after
        dims = []
        for i in range(layers):
            width_in = self.in_dim if i == 0 else hidden
            if i == skip_after and 0 < skip_after < layers:
                width_in += self.in_dim
            dims.append(nn.Linear(width_in, hidden))
        self.layers = nn.ModuleList(dims)
        self.rotation_head = nn.Linear(hidden, 3)
        self.translation_head = nn.Linear(hidden, 3)
        for head in (self.rotation_head, self.translation_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def encode(self, positions: Tensor, times: Tensor) -> Tensor:
        """positions [P, 3] in [-1, 1], times [F] in [0, 1] -> [F, P, in_dim]."""
        pos = positional_encoding(positions, self.position_frequencies)          # [P, 63]
        tim = positional_encoding(times[:, None], self.time_frequencies)         # [F, 13]
        f, p = times.shape[0], positions.shape[0]
        return torch.cat([pos[None].expand(f, p, -1), tim[:, None].expand(f, p, -1)], -1)

    def forward(self, encoded: Tensor) -> tuple[Tensor, Tensor]:
        h = encoded
        for i, layer in enumerate(self.layers):
            if i == self.skip_after and i > 0:
                h = torch.cat([h, encoded], dim=-1)
            h = torch.relu(layer(h))
        return self.rotation_head(h), self.translation_head(h)


class MlpDeform(DeformModel):
    """A TimeNet over every control point and frame, fitted jointly over the frames."""

    name = "mlp"
    sequential = False

    def __init__(self, control_points: Tensor, num_frames: int, centre: Tensor, size: float,
                 init: RigidPose | None = None, **net_options):
        super().__init__(control_points, num_frames, centre, size)
        lo, hi = self.control_points.min(0).values, self.control_points.max(0).values
        span = torch.where(hi - lo > 0, hi - lo, torch.ones_like(hi))
        self.register_buffer("unit_positions", 2.0 * (self.control_points - lo) / span - 1.0)
        self.net = TimeNet(**net_options)
        from .rigid import RigidDeform
        base = RigidDeform(self.control_points, 1, self.centre, self.size, init=init)
        with torch.no_grad():
            base_rot, base_trans = base(torch.zeros(1, dtype=torch.long))
        self.register_buffer("base_rotations", base_rot[0].clone())       # [P, 4]
        self.register_buffer("base_translations", base_trans[0].clone())  # [P, 3]

    def times(self, idx: Tensor) -> Tensor:
        """s = f / (F - 1) in [0, 1] (0 for a single frame).  [F] -> [F]"""
        return idx.to(torch.float32) / max(1, self.num_frames - 1)

    def forward(self, frame_indices: Tensor) -> tuple[Tensor, Tensor]:
        idx = self.check_frames(frame_indices)
        d_rot, d_tau = self.net(self.net.encode(self.unit_positions, self.times(idx)))
        rotations = quat_multiply(axis_angle_to_quat(d_rot),
                                  self.base_rotations.expand(idx.shape[0], -1, -1))
        return rotations, self.base_translations + self.size * d_tau

    def param_groups(self, config) -> list[dict]:
        return [{"params": list(self.net.parameters()), "lr": config.lr_mlp}]


__all__ = ["positional_encoding", "TimeNet", "MlpDeform"]
