"""Tensors in and out of the compiled CPU kernels (rasterizer, projection, skinning): the
checks every kernel's wrapper makes first, and the float64 arrays the kernels compute in."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def float64_array(x: Tensor) -> np.ndarray:
    """The tensor's values, detached, as a C-contiguous float64 array (no copy where it is
    one already)."""
    return np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float64)


def check_cpu_tensors(tensors: dict, function: str, alternative: str,
                      error: type[Exception]) -> None:
    """Raises ``error`` naming the first value of ``tensors`` (name -> value) that is not a
    torch tensor, or not on the CPU; ``alternative`` completes "move the inputs with .cpu(),
    or ..." for a tensor on another device."""
    for name, x in tensors.items():
        if not torch.is_tensor(x):
            raise error(f"{function}: {name} must be a torch.Tensor, got {type(x).__name__}")
        if x.device.type != "cpu":
            raise error(f"{function} runs on the CPU but {name} is on {x.device}: move the "
                        f"inputs with .cpu(), or {alternative}")


__all__ = ["float64_array", "check_cpu_tensors"]
